// The slice of autocannon's programmatic API the benches use (the package ships no types).
declare module 'autocannon' {
  type Options = {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    headers?: Record<string, string>;
  };
  type Result = {
    duration: number;
    errors: number;
    non2xx: number;
  };
  type Instance = PromiseLike<Result> & {
    on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void): Instance;
  };
  export default function autocannon(options: Options): Instance;
}
