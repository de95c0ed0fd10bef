/** What a bench server (bench/servers/*.ts) and the bench that started it say over the IPC channel. */
export type ServerMessage = { listening: { port: number } } | { cpuMicros: number };

/** Asks the server for the CPU time it has used so far (user + system, microseconds). */
export type ParentMessage = { cpuUsage: true };
