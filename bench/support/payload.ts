/** The route and body every server in the http bench answers, so only the stacks differ. */
export const BENCH_JSON_PATH = '/api/bench/json';

export const BENCH_JSON = { message: 'Hello, World!' };

/** The same body behind requireAuth() (auth bench). */
export const BENCH_AUTH_JSON_PATH = '/api/bench/auth-json';
