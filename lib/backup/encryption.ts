import { type Bytes, concat, rechunk } from './codec.ts';

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

export async function* encrypt(source: Bytes, key: Uint8Array): Bytes {
  const cryptoKey = await importKey(key);
  const prefix = crypto.getRandomValues(new Uint8Array(8));
  yield concat([MAGIC, prefix]);
  let counter = 0;
  // One chunk is held back so the last one can be marked final.
  let pending: Uint8Array | undefined;
  const seal = async (plain: Uint8Array, final: boolean) => {
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: nonce(prefix, counter++), additionalData: Uint8Array.of(final ? 1 : 0) },
        cryptoKey,
        plain as Uint8Array<ArrayBuffer>,
      ),
    );
    const frame = new Uint8Array(FRAME_HEADER_BYTES + sealed.byteLength);
    new DataView(frame.buffer).setUint32(0, sealed.byteLength);
    frame[4] = final ? 1 : 0;
    frame.set(sealed, FRAME_HEADER_BYTES);
    return frame;
  };
  for await (const chunk of rechunk(source, CHUNK_BYTES)) {
    if (pending) yield await seal(pending, false);
    pending = chunk;
  }
  yield await seal(pending ?? new Uint8Array(0), true);
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
