import { createCipheriv } from 'node:crypto';
import { detectRuntime } from '../runtime.ts';
import { type Bytes, concat } from './codec.ts';

// AES-256-GCM in chunks, so an object of any size streams through in bounded memory and a damaged
// or cut object is detected at the chunk where it happens:
//   header  "OPSBENC1" + 8 random bytes (the nonce prefix of this object)
//   frames  [u32 BE length][u8 final][ciphertext + 16-byte tag], plaintext <= CHUNK_BYTES each
// Each chunk's nonce is the prefix + its u32 counter (reordering fails); the final flag is
// authenticated as additional data, so a stream that ends without a final frame was truncated.

const MAGIC = new TextEncoder().encode('OPSBENC1');
const HEADER_BYTES = MAGIC.byteLength + 8;
const FRAME_HEADER_BYTES = 5;
const TAG_BYTES = 16;
export const CHUNK_BYTES = 1024 * 1024;

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

function importKey(key: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

function nonce(prefix: Uint8Array, counter: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  iv.set(prefix, 0);
  new DataView(iv.buffer).setUint32(8, counter);
  return iv;
}

/**
 * A short fingerprint of the key (HMAC, not the key): stored in the manifest so a restore with the
 * wrong key is refused before any object is read.
 */
export async function keyFingerprint(key: Uint8Array): Promise<string> {
  const hmac = await crypto.subtle.importKey(
    'raw',
    key as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', hmac, new TextEncoder().encode('opsbase-backup-key-fingerprint')),
  );
  return Array.from(mac.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** AES-256-GCM of one chunk: ciphertext then tag, in one or more pieces. */
type SealChunk = (plain: Uint8Array, iv: Uint8Array, additionalData: Uint8Array) => Promise<Uint8Array[]>;

async function chunkSealer(key: Uint8Array): Promise<SealChunk> {
  // On Node, node:crypto's cipher, in this thread: WebCrypto copies each chunk into a job object
  // that C++ frees only when V8 collects the job, memory V8 does not see, so tens of megabytes
  // of dead copies could wait for a full GC. The bytes are the same as WebCrypto's.
  if (detectRuntime() === 'node') {
    return async (plain, iv, additionalData) => {
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(additionalData);
      const body = cipher.update(plain);
      const rest = cipher.final();
      return [body, rest, cipher.getAuthTag()].filter((piece) => piece.byteLength > 0);
    };
  }
  const cryptoKey = await importKey(key);
  return async (plain, iv, additionalData) => [
    new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: 'AES-GCM',
          iv: iv as Uint8Array<ArrayBuffer>,
          additionalData: additionalData as Uint8Array<ArrayBuffer>,
        },
        cryptoKey,
        plain as Uint8Array<ArrayBuffer>,
      ),
    ),
  ];
}

export async function* encrypt(source: Bytes, key: Uint8Array): Bytes {
  const sealChunk = await chunkSealer(key);
  const prefix = crypto.getRandomValues(new Uint8Array(8));
  yield concat([MAGIC, prefix]);
  let counter = 0;
  // A frame goes out as its header and then the sealed pieces as they are (short-lived: the
  // upload copies them into its part at once).
  async function* seal(plain: Uint8Array, final: boolean) {
    const sealed = await sealChunk(plain, nonce(prefix, counter++), Uint8Array.of(final ? 1 : 0));
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    new DataView(header.buffer).setUint32(
      0,
      sealed.reduce((n, piece) => n + piece.byteLength, 0),
    );
    header[4] = final ? 1 : 0;
    yield header;
    yield* sealed;
  }
  // Plaintext is copied into two chunk buffers used in turn: one is held back (so the last chunk
  // can be marked final) while the other fills. A new buffer per chunk lived long enough to reach
  // V8's old generation, where dead ones waited for a full GC (tens of megabytes of them).
  let filling = new Uint8Array(CHUNK_BYTES);
  let held = new Uint8Array(CHUNK_BYTES);
  let filled = 0;
  let holding = false;
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.byteLength; ) {
      // A full chunk is passed on only once more bytes follow: the last one may be a full one.
      if (filled === CHUNK_BYTES) {
        if (holding) yield* seal(held, false);
        [held, filling] = [filling, held];
        holding = true;
        filled = 0;
      }
      const n = Math.min(chunk.byteLength - offset, CHUNK_BYTES - filled);
      filling.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
    }
  }
  if (holding) yield* seal(held, false);
  yield* seal(filling.subarray(0, filled), true);
}

/** Reads exactly n bytes at a time off a byte stream. */
class ByteReader {
  private parts: Uint8Array[] = [];
  private held = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Uint8Array>;
  constructor(iterator: AsyncIterator<Uint8Array>) {
    this.iterator = iterator;
  }

  /** Exactly n bytes, or fewer only when the stream ended first. */
  async read(n: number): Promise<Uint8Array> {
    while (this.held < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else {
        this.parts.push(next.value);
        this.held += next.value.byteLength;
      }
    }
    const joined = concat(this.parts, this.held);
    const taken = joined.subarray(0, Math.min(n, this.held));
    const rest = joined.subarray(taken.byteLength);
    this.parts = rest.byteLength > 0 ? [rest] : [];
    this.held = rest.byteLength;
    return taken;
  }
}

export async function* decrypt(source: Bytes, key: Uint8Array): Bytes {
  const cryptoKey = await importKey(key);
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const header = await reader.read(HEADER_BYTES);
  if (header.byteLength < HEADER_BYTES || MAGIC.some((b, i) => header[i] !== b)) {
    throw new DecryptionError('not an encrypted backup object (no OPSBENC1 header)');
  }
  const prefix = header.slice(MAGIC.byteLength);
  for (let counter = 0; ; counter++) {
    const frameHeader = await reader.read(FRAME_HEADER_BYTES);
    if (frameHeader.byteLength < FRAME_HEADER_BYTES) {
      throw new DecryptionError('truncated: the object ends before its final chunk');
    }
    const length = new DataView(frameHeader.buffer, frameHeader.byteOffset).getUint32(0);
    const final = frameHeader[4] === 1;
    if (length < TAG_BYTES || length > CHUNK_BYTES + TAG_BYTES) {
      throw new DecryptionError(`damaged: chunk ${counter} has an impossible length ${length}`);
    }
    const sealed = await reader.read(length);
    if (sealed.byteLength < length) throw new DecryptionError(`truncated inside chunk ${counter}`);
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: nonce(prefix, counter), additionalData: Uint8Array.of(final ? 1 : 0) },
        cryptoKey,
        sealed as Uint8Array<ArrayBuffer>,
      );
    } catch {
      throw new DecryptionError(
        counter === 0
          ? 'cannot decrypt: wrong BACKUP_ENCRYPTION_KEY, or the object is damaged'
          : `damaged: chunk ${counter} fails its authentication tag`,
      );
    }
    if (plain.byteLength > 0) yield new Uint8Array(plain);
    if (final) {
      if ((await reader.read(1)).byteLength > 0) throw new DecryptionError('damaged: bytes after the final chunk');
      return;
    }
  }
}
