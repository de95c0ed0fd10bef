// A table's rows as the JSON lines `row_to_json` writes (see exportQuery), built in Node from a
// plain COPY of the columns. The server's cost per row drops to what pg_dump pays (its output
// functions), instead of ~2.5x that for composing JSON; the bytes are the same, checked against
// row_to_json over every type in test/backup-copy-json.test.ts, so a backup's row hash does not
// depend on which path wrote it.
//
// Each column has a kind, from its type, saying how its COPY text becomes its JSON value:
//   number     int2/4/8, float4/8, numeric: the text itself; NaN and ±Infinity as strings
//   bool       t/f -> true/false
//   string     the text as a JSON string (escaped as Postgres's escape_json does): text, uuid,
//              bytea (hex), date, interval, json/jsonb (read as text, see exportQuery)...
//   timestamp  ISO text -> XSD: `2026-01-01 10:00:00` -> `"2026-01-01T10:00:00"`
//   timestamptz  the same and a full offset: `...+00` -> `...+00:00`
//   K[]        format 1 only (a drill of an older backup; format 2 reads arrays as text, like
//              json): an array of one of the kinds above, array_out's text -> a JSON array as
//              array_to_json writes it (bounds dropped, NULL -> null, each element as its kind says)
//   json       anything else (composites, domains, enums, arrays of json or of other types, types
//              of extensions): the server's to_json, passed through but for raw newlines (see
//              exportQuery)
import { type RawBuilder, sql } from 'kysely';
import { type Bytes, concat } from './codec.ts';

type ScalarKind = 'number' | 'bool' | 'string' | 'timestamp' | 'timestamptz';
export type ColumnKind = ScalarKind | `${ScalarKind}[]` | 'json';

const KIND_OF_TYPE: Record<string, ScalarKind> = {
  int2: 'number',
  int4: 'number',
  int8: 'number',
  float4: 'number',
  float8: 'number',
  numeric: 'number',
  bool: 'bool',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  char: 'string',
  name: 'string',
  uuid: 'string',
  bytea: 'string',
  date: 'string',
  time: 'string',
  timetz: 'string',
  interval: 'string',
  inet: 'string',
  cidr: 'string',
  macaddr: 'string',
  macaddr8: 'string',
  money: 'string',
  oid: 'string',
  xml: 'string',
  // read as text (exportQuery keeps a JSON value as its text, so JSON null stays apart from NULL)
  json: 'string',
  jsonb: 'string',
};

/**
 * The kind of a column of a built-in type (`builtin`: its type is one of Postgres's own, not a
 * domain, an enum or an extension's, any of which might carry a cast to json of its own).
 * `element`: the element type's name when the type is the array type of a built-in type whose
 * text form uses `,` between elements. Arrays of json and jsonb stay with the server: their
 * elements go into the JSON as they are, not as the strings a json column becomes.
 */
export function columnKind(type: { name: string; builtin: boolean; element?: string | null }): ColumnKind {
  if (!type.builtin) return 'json';
  if (type.element) {
    const element = type.element === 'json' || type.element === 'jsonb' ? undefined : KIND_OF_TYPE[type.element];
    return element ? `${element}[]` : 'json';
  }
  return KIND_OF_TYPE[type.name] ?? 'json';
}

export type ExportColumn = { name: string; kind: ColumnKind };

/** The COPY query whose rows `copyToJsonLines` turns into JSON lines (rows in primary-key order). */
export function copyColumnsQuery(table: { name: string; columns: ExportColumn[]; primaryKey: string[] }) {
  const t = sql.id(table.name);
  const values = sql.join(
    table.columns.map((c) => {
      const column = sql`${t}.${sql.id(c.name)}`;
      return c.kind === 'json' ? sql`to_json(${column})::text` : column;
    }),
  );
  const order =
    table.primaryKey.length > 0
      ? sql`order by ${sql.join(table.primaryKey.map((k) => sql`${t}.${sql.id(k)}`))}`
      : sql``;
  return sql`select ${values} from ${t} ${order}` as RawBuilder<unknown>;
}

const QUOTE = 0x01; // COPY_LINES: CSV with \x01 as its quote and \x02 as its delimiter
const DELIMITER = 0x02;
const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const NULL_BYTES = encoder.encode('null');
const TRUE_BYTES = encoder.encode('true');
const FALSE_BYTES = encoder.encode('false');
const HEX = encoder.encode('0123456789abcdef');
const OUT_BYTES = 256 * 1024;
/** Bytes escape_json escapes: control characters, the double quote and the backslash. */
const ESCAPED = new Uint8Array(256).map((_, c) => (c < 0x20 || c === 0x22 || c === 0x5c ? 1 : 0));
/** The letter after the backslash where escape_json has a short escape (the rest are \u00XX). */
const SHORT_ESCAPES = new Uint8Array(256);
for (const [byte, letter] of [
  [0x08, 'b'],
  [0x0c, 'f'],
  [0x0a, 'n'],
  [0x0d, 'r'],
  [0x09, 't'],
  [0x22, '"'],
  [0x5c, '\\'],
] as const) {
  SHORT_ESCAPES[byte] = letter.charCodeAt(0);
}
// flags of a located field
const QUOTED = 1;
const ESCAPES = 2; // holds a byte a JSON string escapes

const KIND_CODES: Record<ColumnKind, number> = {
  number: 0,
  bool: 1,
  string: 2,
  timestamp: 3,
  timestamptz: 4,
  json: 5,
  // arrays: ARRAY + their element's code
  'number[]': 6,
  'bool[]': 7,
  'string[]': 8,
  'timestamp[]': 9,
  'timestamptz[]': 10,
};
const ARRAY = 6;

/** Why a COPY row could not be read (a bug, or a server sending what COPY_LINES does not). */
export class CopyRowError extends Error {}

// The writers below take the output buffer and position and return the new position: hot state
// lives in locals, not in closure variables, which V8 would load and store byte by byte.

function copyBytes(dst: Uint8Array, p: number, src: Uint8Array, from: number, to: number): number {
  if (to - from > 32) {
    dst.set(src.subarray(from, to), p);
    return p + to - from;
  }
  for (let i = from; i < to; i++) dst[p++] = src[i] as number;
  return p;
}

/** The value as a JSON string, escaped as escape_json does; a quoted value's doubled quotes undone. */
function writeString(dst: Uint8Array, p: number, src: Uint8Array, from: number, to: number, quoted: boolean): number {
  dst[p++] = 0x22;
  let clean = from; // bytes from here on are copied as a run
  for (let i = from; i < to; i++) {
    const c = src[i] as number;
    if (ESCAPED[c] === 0) continue;
    p = copyBytes(dst, p, src, clean, i);
    if (quoted && c === QUOTE) i++; // a doubled quote stands for one
    clean = i + 1;
    dst[p++] = 0x5c;
    const short = SHORT_ESCAPES[c] as number;
    if (short !== 0) dst[p++] = short;
    else {
      dst[p++] = 0x75; // u00XX
      dst[p++] = 0x30;
      dst[p++] = 0x30;
      dst[p++] = HEX[c >> 4] as number;
      dst[p++] = HEX[c & 15] as number;
    }
  }
  p = copyBytes(dst, p, src, clean, to);
  dst[p++] = 0x22;
  return p;
}

/** ISO date-time text -> XSD: the space between date and time becomes T; +HH becomes +HH:00. */
function writeTimestamp(dst: Uint8Array, p: number, src: Uint8Array, from: number, to: number, zoned: boolean) {
  let space = from;
  while (space < to && src[space] !== 0x20) space++;
  if (space === to) return writeString(dst, p, src, from, to, false); // infinity, -infinity
  dst[p++] = 0x22;
  p = copyBytes(dst, p, src, from, space);
  dst[p++] = 0x54; // T
  let i = space + 1;
  if (zoned) {
    // the offset's sign: the first + or - after the time (HH:MM:SS[.ffffff])
    while (i < to && src[i] !== 0x2b && src[i] !== 0x2d) dst[p++] = src[i++] as number;
    if (i + 3 <= to) {
      p = copyBytes(dst, p, src, i, i + 3); // +HH
      i += 3;
      if (src[i] !== 0x3a) {
        dst[p++] = 0x3a; // :00
        dst[p++] = 0x30;
        dst[p++] = 0x30;
      }
    }
  }
  p = copyBytes(dst, p, src, i, to); // the rest: minutes and seconds of the offset, " BC"
  dst[p++] = 0x22;
  return p;
}

/**
 * Locates the row at `start` of `buf`, filling `spans` (per field: value start, value end,
 * flags); returns where the next row starts, or -1 if this one is cut off.
 */
function locateRow(buf: Uint8Array, start: number, columns: number, spans: Int32Array): number {
  let pos = start;
  const length = buf.length;
  for (let c = 0; c < columns; c++) {
    const end = c === columns - 1 ? NEWLINE : DELIMITER;
    if (buf[pos] !== QUOTE) {
      // a loop, not indexOf: fields are short, and it notes on the way whether any byte needs escaping
      let stop = pos;
      let escapes = 0;
      for (; stop < length; stop++) {
        const b = buf[stop] as number;
        if (b === end) break;
        escapes |= ESCAPED[b] as number;
      }
      if (stop === length) return -1;
      spans[c * 3] = pos;
      spans[c * 3 + 1] = stop;
      spans[c * 3 + 2] = escapes === 0 ? 0 : ESCAPES;
      pos = stop + 1;
      continue;
    }
    // quoted: up to the quote not doubled
    let q = pos + 1;
    for (;;) {
      while (q < length && buf[q] !== QUOTE) q++;
      if (q + 1 >= length) return -1;
      if (buf[q + 1] === QUOTE) {
        q += 2;
        continue;
      }
      if (buf[q + 1] !== end) throw new CopyRowError(`a quoted COPY field is followed by byte ${buf[q + 1]}`);
      break;
    }
    spans[c * 3] = pos + 1;
    spans[c * 3 + 1] = q;
    spans[c * 3 + 2] = QUOTED | ESCAPES;
    pos = q + 2;
  }
  return pos;
}

/** One value of a scalar kind (`code` 0-4) from `src[from, to)`, free of COPY's quoting. */
function writeScalar(dst: Uint8Array, p: number, src: Uint8Array, from: number, to: number, code: number): number {
  switch (code) {
    case 0: {
      // number: NaN, Infinity, -Infinity are no JSON numbers, and row_to_json writes them as strings
      const first = src[from];
      if (first === 0x4e || first === 0x49 || (first === 0x2d && src[from + 1] === 0x49)) {
        return writeString(dst, p, src, from, to, false);
      }
      return copyBytes(dst, p, src, from, to);
    }
    case 1: {
      const value = src[from] === 0x74 ? TRUE_BYTES : FALSE_BYTES;
      return copyBytes(dst, p, value, 0, value.length);
    }
    case 3:
      return writeTimestamp(dst, p, src, from, to, false);
    case 4:
      return writeTimestamp(dst, p, src, from, to, true);
    default:
      return writeString(dst, p, src, from, to, false);
  }
}

/** Scratch space for an array field without COPY's quoting, and for one element without array_out's. */
const scratch = { field: new Uint8Array(1024), element: new Uint8Array(1024) };

/**
 * An array in array_out's text form -> JSON as array_to_json writes it: the bounds ("[0:2]=")
 * dropped, braces as brackets, an unquoted NULL as null, every other element as its kind
 * (`code` 0-4) says, once array_out's quotes and backslashes are undone. `quoted`: COPY quoted
 * the field (it holds a newline, say), its doubled quotes to be undone first.
 */
function writeArray(
  dst: Uint8Array,
  p: number,
  field: Uint8Array,
  start: number,
  end: number,
  quoted: boolean,
  code: number,
): number {
  let src = field;
  let from = start;
  let to = end;
  if (quoted) {
    if (scratch.field.length < to - from) scratch.field = new Uint8Array(2 * (to - from));
    src = scratch.field;
    let n = 0;
    for (let i = from; i < to; i++) {
      const b = field[i] as number;
      src[n++] = b;
      if (b === QUOTE) i++;
    }
    from = 0;
    to = n;
  }
  let i = from;
  if (src[i] === 0x5b) {
    while (i < to && src[i] !== 0x3d) i++; // [lower:upper]...=
    i++;
  }
  while (i < to) {
    const c = src[i] as number;
    if (c === 0x7b || c === 0x7d || c === 0x2c) {
      dst[p++] = c === 0x7b ? 0x5b : c === 0x7d ? 0x5d : 0x2c; // { } , -> [ ] ,
      i++;
      continue;
    }
    if (c === 0x22) {
      // quoted: up to the quote no backslash escapes; only then is a copy without them needed
      let j = i + 1;
      while (j < to && src[j] !== 0x22 && src[j] !== 0x5c) j++;
      if (src[j] === 0x22) {
        p = writeScalar(dst, p, src, i + 1, j, code);
        i = j + 1;
        continue;
      }
      if (scratch.element.length < to - i) scratch.element = new Uint8Array(2 * (to - i));
      const element = scratch.element;
      let n = 0;
      for (j = i + 1; j < to && src[j] !== 0x22; j++) {
        if (src[j] === 0x5c) j++;
        element[n++] = src[j] as number;
      }
      p = writeScalar(dst, p, element, 0, n, code);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < to && src[j] !== 0x2c && src[j] !== 0x7d) j++;
    const isNull = j - i === 4 && src[i] === 0x4e && src[i + 1] === 0x55 && src[i + 2] === 0x4c && src[i + 3] === 0x4c;
    p = isNull ? copyBytes(dst, p, NULL_BYTES, 0, 4) : writeScalar(dst, p, src, i, j, code);
    i = j;
  }
  return p;
}

/** Writes the located row; `dst` has room for it. Returns the new position. */
function writeRow(
  dst: Uint8Array,
  p: number,
  buf: Uint8Array,
  spans: Int32Array,
  kinds: Uint8Array,
  prefixes: Uint8Array[],
): number {
  for (let c = 0; c < kinds.length; c++) {
    const prefix = prefixes[c] as Uint8Array;
    for (let i = 0; i < prefix.length; i++) dst[p++] = prefix[i] as number;
    const from = spans[c * 3] as number;
    const to = spans[c * 3 + 1] as number;
    const flags = spans[c * 3 + 2] as number;
    if (from === to && flags === 0) {
      p = copyBytes(dst, p, NULL_BYTES, 0, 4);
      continue;
    }
    const kind = kinds[c] as number;
    if (kind === 2) {
      if (flags === 0) {
        dst[p++] = 0x22;
        p = copyBytes(dst, p, buf, from, to);
        dst[p++] = 0x22;
      } else p = writeString(dst, p, buf, from, to, (flags & QUOTED) !== 0);
    } else if (kind < 5) {
      // COPY quotes no number, bool or timestamp: they hold no quote, delimiter or newline
      p = writeScalar(dst, p, buf, from, to, kind);
    } else if (kind >= ARRAY) {
      p = writeArray(dst, p, buf, from, to, (flags & QUOTED) !== 0, kind - ARRAY);
    } else if ((flags & QUOTED) === 0) {
      p = copyBytes(dst, p, buf, from, to);
    } else {
      // the server's JSON as COPY quoted it, for a raw newline in a nested json value's text:
      // doubled quotes undone, and the newline a space, as exportQuery has it
      for (let i = from; i < to; i++) {
        const b = buf[i] as number;
        dst[p++] = b === NEWLINE ? 0x20 : b;
        if (b === QUOTE) i++;
      }
    }
  }
  dst[p++] = 0x7d; // }
  dst[p++] = NEWLINE;
  return p;
}

/**
 * COPY_LINES rows of `columns` -> JSON lines, streaming: each row is located, then written into
 * an output buffer handed on when full. A row cut by a chunk boundary is read again once the
 * rest has arrived.
 */
export function copyToJsonLines(source: Bytes, columns: readonly ExportColumn[]): { bytes: Bytes; rows(): number } {
  // `{"id":`, `,"name":`, ... : the key of each column with what comes before it
  const prefixes = columns.map((c, i) => encoder.encode(`${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`));
  const keyBytes = prefixes.reduce((n, p) => n + p.length, 2);
  const kinds = Uint8Array.from(columns, (c) => KIND_CODES[c.kind]);
  const spans = new Int32Array(columns.length * 3);
  let rows = 0;
  let out = new Uint8Array(OUT_BYTES);
  let o = 0;

  /** Converts whole rows of buf from `at` while `out` has room: where it stopped, and whether at a cut row. */
  const convert = (buf: Uint8Array, start: number): [number, boolean] => {
    let at = start;
    let dst = out;
    let p = o;
    let cut = false;
    while (at < buf.length) {
      const next = locateRow(buf, at, kinds.length, spans);
      if (next === -1) {
        cut = true;
        break;
      }
      // a value grows at most 6x (every byte escaped as \u00XX), plus keys, quotes and braces
      const needed = keyBytes + 6 * (next - at) + 8 * kinds.length;
      if (dst.length - p < needed) {
        if (p > 0) break;
        dst = new Uint8Array(needed); // one row bigger than a buffer
      }
      p = writeRow(dst, p, buf, spans, kinds, prefixes);
      rows++;
      at = next;
    }
    out = dst;
    o = p;
    return [at, cut];
  };

  /** Hands on what `out` holds and goes on in its free part (or a new buffer). */
  const flush = (): Uint8Array => {
    const filled = out.subarray(0, o);
    out = out.length - o >= OUT_BYTES / 4 ? out.subarray(o) : new Uint8Array(OUT_BYTES);
    o = 0;
    return filled;
  };

  /** Converts the whole rows of `buf`; returns the cut row it ends with (a copy), if any. */
  function* consume(buf: Uint8Array): Generator<Uint8Array, Uint8Array | null> {
    let at = 0;
    for (;;) {
      const [stop, cut] = convert(buf, at);
      at = stop;
      if (o > 0) yield flush();
      if (cut || at >= buf.length) break;
    }
    return at < buf.length ? buf.slice(at) : null;
  }

  async function* run(): AsyncGenerator<Uint8Array> {
    let carry: Uint8Array | null = null;
    let waiting: Uint8Array[] = [];
    let waitingBytes = 0;
    for await (const chunk of source) {
      if (!carry) {
        carry = yield* consume(chunk);
        continue;
      }
      // a row longer than what has come since: wait for as much again before reading it anew
      waiting.push(chunk);
      waitingBytes += chunk.length;
      if (waitingBytes < carry.length) continue;
      carry = yield* consume(concat([carry, ...waiting]));
      waiting = [];
      waitingBytes = 0;
    }
    if (carry && waiting.length > 0) carry = yield* consume(concat([carry, ...waiting]));
    if (carry) throw new CopyRowError(`COPY output ended inside a row (${carry.length} bytes)`);
  }

  return { bytes: run(), rows: () => rows };
}
