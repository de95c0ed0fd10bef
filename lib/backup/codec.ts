import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';

// Byte pipelines as async generators: the same code runs on Node and on workerd (nodejs_compat
// provides node:zlib and node:crypto's hashes there), and backpressure comes for free: a stage
// pulls from the one before only when the one after asks.

export type Bytes = AsyncIterable<Uint8Array>;

/** Runs `source` through a Node transform stream (zlib), with backpressure both ways. */
async function* throughTransform(source: Bytes, transform: NodeJS.ReadWriteStream & { destroy(error?: Error): void }) {
  const feeding = (async () => {
    for await (const chunk of source) {
      if (!transform.write(chunk)) await once(transform, 'drain');
    }
    transform.end();
  })().catch((error: Error) => transform.destroy(error));
  for await (const chunk of transform as AsyncIterable<Uint8Array>) yield chunk;
  await feeding;
}

export function gzip(source: Bytes, level: number): Bytes {
  return throughTransform(source, createGzip({ level, chunkSize: 64 * 1024 }));
}

export function gunzip(source: Bytes): Bytes {
  return throughTransform(source, createGunzip({ chunkSize: 64 * 1024 }));
}

/** Counts bytes and hashes them (sha256) on the way through; read the tally once the stream has ended. */
export function tally(source: Bytes): { bytes: Bytes; result(): { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let count = 0;
  let digest: string | undefined;
  return {
    bytes: (async function* () {
      for await (const chunk of source) {
        hash.update(chunk);
        count += chunk.byteLength;
        yield chunk;
      }
      digest = hash.digest('hex');
    })(),
    result() {
      if (digest === undefined) throw new Error('tally read before its stream ended');
      return { bytes: count, sha256: digest };
    },
  };
}

const NEWLINE = 10;

/** Counts lines (JSON lines never hold a raw newline: the server escapes it) on the way through. */
export function countLines(source: Bytes): { bytes: Bytes; lines(): number } {
  let lines = 0;
  return {
    bytes: (async function* () {
      for await (const chunk of source) {
        let at = chunk.indexOf(NEWLINE);
        while (at !== -1) {
          lines++;
          at = chunk.indexOf(NEWLINE, at + 1);
        }
        yield chunk;
      }
    })(),
    lines: () => lines,
  };
}

/** Re-chunks a byte stream into lines, yielding arrays of complete lines (without the newline). */
export async function* splitLines(source: Bytes, maxBatchBytes: number): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let carry = '';
  let batch: string[] = [];
  let batchBytes = 0;
  for await (const chunk of source) {
    const text = carry + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    for (const line of parts) {
      if (line.length === 0) continue;
      batch.push(line);
      batchBytes += line.length;
      if (batchBytes >= maxBatchBytes) {
        yield batch;
        batch = [];
        batchBytes = 0;
      }
    }
  }
  carry += decoder.decode();
  if (carry.length > 0) batch.push(carry);
  if (batch.length > 0) yield batch;
}

export function concat(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.byteLength, 0)): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
