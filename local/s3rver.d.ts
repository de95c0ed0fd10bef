declare module 's3rver' {
  type BucketConfig = { name: string; configs: unknown[] };
  type Options = {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: BucketConfig[];
  };
  export default class S3rver {
    constructor(options: Options);
    run(): Promise<{ address: string; port: number; family: string }>;
    close(): Promise<void>;
    /** Koa's middleware stack (S3rver extends Koa); composed when the server starts. */
    middleware: unknown[];
  }
}
