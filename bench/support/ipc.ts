/** What a bench server (bench/servers/*.ts) and the bench that started it say over the IPC channel. */
export type ServerMessage =
  | { listening: { port: number } }
  | { cpuMicros: number }
  /** The bundle's answer to a requestLogExclude: the prefixes now in force. */
  | { requestLogExclude: string[] };

/**
 * Asks the server for the CPU time it has used so far (user + system, microseconds); or (the
 * bundle only) to replace its REQUEST_LOG_EXCLUDE prefixes, so one process can be measured with
 * request logging on and off in turn.
 */
export type ParentMessage = { cpuUsage: true } | { requestLogExclude: string[] };
