// JSON lines (as the backup writes them, see exportQuery) turned into COPY text rows in Node, so a
// restore on the COPY path hands the server plain COPY input instead of parsing JSON back with
// json_populate_record. Each value becomes exactly the text json_populate_record would have given
// the column type's input function: a JSON string's contents, a number's own text (numeric
// precision kept), true/false, NULL; a JSON array (format 1; format 2 carries arrays as their
// text, a string) becomes an array literal.

/** How a column's JSON values turn into COPY text. */
export type CopyColumn = {
  name: string;
  /**
   * `array`: a JSON array becomes an array literal (format 1's arrays); `scalar`: every other type
   * (json/jsonb, and format 2's arrays, included).
   */
  kind: 'scalar' | 'array';
};

/** A JSON line this converter cannot read; the restore stops, naming the table. */
export class CopyTextError extends Error {
  override name = 'CopyTextError';
}

const QUOTE = 34; // "
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** A converter of one table's JSON lines (keys in `columns` order) to COPY text rows (no newline). */
export function jsonLineConverter(columns: readonly CopyColumn[]): (line: string) => string {
  // Keys as the server escapes them; a key that differs is compared again once decoded.
  const keys = columns.map((c) => JSON.stringify(c.name).slice(1, -1));
  return (line) => {
    if (line.charCodeAt(0) !== OPEN_BRACE) throw malformed(line, 0);
    let at = 1;
    let out = '';
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as CopyColumn;
      if (line.charCodeAt(at) !== QUOTE) throw malformed(line, at);
      const keyEnd = stringEnd(line, at);
      const key = line.slice(at + 1, keyEnd);
      if (key !== keys[i] && JSON.parse(`"${key}"`) !== column.name) {
        throw new CopyTextError(`expected column ${column.name} at position ${i + 1}, found ${key}`);
      }
      at = keyEnd + 1;
      if (line.charCodeAt(at) !== COLON) throw malformed(line, at);
      at++;
      const end = valueEnd(line, at);
      if (i > 0) out += '\t';
      out += column.kind === 'array' ? arrayField(line, at, end) : scalarField(line, at, end);
      at = end;
      const separator = line.charCodeAt(at);
      if (separator !== (i === columns.length - 1 ? CLOSE_BRACE : COMMA)) {
        throw new CopyTextError(
          `a row does not hold the ${columns.length} columns the manifest lists (at character ${at}): ${line.slice(0, 120)}`,
        );
      }
      at++;
    }
    if (columns.length === 0) {
      if (line.charCodeAt(at) !== CLOSE_BRACE) throw malformed(line, at);
      at++;
    }
    if (at !== line.length) throw malformed(line, at);
    return out;
  };
}

function malformed(line: string, at: number): CopyTextError {
  return new CopyTextError(`not a backup row at character ${at}: ${line.slice(0, 120)}`);
}

/** Index of the quote closing the JSON string that opens at `start`. */
function stringEnd(line: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const quote = line.indexOf('"', at);
    if (quote === -1) throw malformed(line, start);
    let backslashes = 0;
    while (line.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

/** Index just past the JSON value that starts at `start`. */
function valueEnd(line: string, start: number): number {
  const first = line.charCodeAt(start);
  if (first === QUOTE) return stringEnd(line, start) + 1;
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let at = start;
    while (at < line.length) {
      const c = line.charCodeAt(at);
      if (c === QUOTE) at = stringEnd(line, at);
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return at + 1;
      }
      at++;
    }
    throw malformed(line, start);
  }
  // A number, true, false or null: up to the next separator.
  let at = start;
  while (at < line.length) {
    const c = line.charCodeAt(at);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET) break;
    at++;
  }
  if (at === start) throw malformed(line, start);
  return at;
}

/** NULL for JSON null, a string's contents, any other value's own JSON text (as `->>` gives it). */
function scalarField(line: string, start: number, end: number): string {
  if (line.charCodeAt(start) === QUOTE) return jsonStringToCopy(line.slice(start + 1, end - 1));
  const raw = line.slice(start, end);
  if (raw === 'null') return '\\N';
  return copyEscape(raw);
}

/**
 * A JSON string's body (still escaped) as COPY text. JSON's escapes \\ \n \r \t \b \f mean the
 * same in COPY text, so most strings pass unchanged; \" and \/ lose their backslash, and \uXXXX
 * becomes its character (escaped again when COPY needs it).
 */
export function jsonStringToCopy(body: string): string {
  let at = body.indexOf('\\');
  if (at === -1) return body;
  let out = '';
  let from = 0;
  while (at !== -1) {
    const next = body[at + 1];
    if (next === '"' || next === '/') {
      out += body.slice(from, at) + next;
      from = at + 2;
    } else if (next === 'u') {
      out += body.slice(from, at) + copyEscape(String.fromCharCode(Number.parseInt(body.slice(at + 2, at + 6), 16)));
      from = at + 6;
    } else {
      // \\ \n \r \t \b \f: the same escape in COPY text.
      out += body.slice(from, at + 2);
      from = at + 2;
    }
    at = body.indexOf('\\', from);
  }
  return out + body.slice(from);
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Plain text as a COPY text field: backslash, newline, carriage return and tab escaped. */
export function copyEscape(text: string): string {
  return COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c] as string) : text;
}

/** A JSON array as an array literal ({...}, every string element quoted), then as a COPY field. */
function arrayField(line: string, start: number, end: number): string {
  const first = line.charCodeAt(start);
  if (first === OPEN_BRACKET) return copyEscape(arrayLiteral(line, start, end));
  return scalarField(line, start, end);
}

function arrayLiteral(line: string, start: number, end: number): string {
  let out = '{';
  let at = start + 1;
  if (line.charCodeAt(at) === CLOSE_BRACKET) return '{}';
  while (at < end) {
    const elementEnd = valueEnd(line, at);
    const first = line.charCodeAt(at);
    if (first === OPEN_BRACKET) out += arrayLiteral(line, at, elementEnd);
    else if (first === QUOTE) {
      const body = line.slice(at + 1, elementEnd - 1);
      const text = body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body;
      out += `"${text.replace(/["\\]/g, '\\$&')}"`;
    } else if (first === OPEN_BRACE) {
      throw new CopyTextError(`an array element is a JSON object, which no array literal holds: ${line.slice(0, 120)}`);
    } else {
      const raw = line.slice(at, elementEnd);
      out += raw === 'null' ? 'NULL' : raw;
    }
    at = elementEnd;
    const c = line.charCodeAt(at);
    if (c === COMMA) out += ',';
    else if (c === CLOSE_BRACKET) return `${out}}`;
    else throw malformed(line, at);
    at++;
  }
  throw malformed(line, start);
}

const NEWLINE = 10;
const TAB = 9;
const LETTER_N = 110;
const LETTER_U = 117;
const SLASH = 47;
const NULL_FIELD = [BACKSLASH, 78]; // \N

/**
 * The same conversion over bytes, for a whole stream of JSON lines: most values are copied as
 * they are (a string without escapes, a number, an array of such), without decoding the line to
 * a string and encoding it again; any other value goes through the string functions above.
 * `rows()` counts the lines converted.
 */
export function jsonLinesToCopy(
  columns: readonly CopyColumn[],
  source: AsyncIterable<Uint8Array>,
): { bytes: AsyncGenerator<Uint8Array>; rows(): number } {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const keys = columns.map((c) => encoder.encode(JSON.stringify(c.name).slice(1, -1)));
  let rows = 0;
  let out = new Uint8Array(0);
  let pos = 0;
  const ensure = (more: number) => {
    if (pos + more <= out.length) return;
    const grown = new Uint8Array(Math.max(out.length * 2, pos + more));
    grown.set(out.subarray(0, pos));
    out = grown;
  };
  const copy = (input: Uint8Array, from: number, to: number) => {
    ensure(to - from);
    if (to - from > 64) out.set(input.subarray(from, to), pos);
    else for (let i = from; i < to; i++) out[pos + i - from] = input[i] as number;
    pos += to - from;
  };
  const fail = (input: Uint8Array, lineStart: number, message: string): never => {
    const end = input.indexOf(NEWLINE, lineStart);
    throw new CopyTextError(`${message}: ${decoder.decode(input.subarray(lineStart, Math.min(end, lineStart + 120)))}`);
  };
  /** Index of the quote closing the string opening at `start`; `escaped` set when it holds a backslash. */
  let escaped = false;
  // Most lines hold no backslash at all: their strings end at the next quote.
  let plainLine = false;
  const stringEndAt = (input: Uint8Array, start: number, lineEnd: number): number => {
    escaped = false;
    if (plainLine) {
      // a loop, not indexOf: keys and most values are short, and a call to the builtin costs more
      for (let at = start + 1; at < lineEnd; at++) if (input[at] === QUOTE) return at;
      return -1;
    }
    for (let at = start + 1; at < lineEnd; at++) {
      const c = input[at];
      if (c === QUOTE) return at;
      if (c === BACKSLASH) {
        escaped = true;
        at++;
      }
    }
    return -1;
  };
  /** Index past the value at `start`; `escaped` set when it holds a backslash or an object. */
  const valueEndAt = (input: Uint8Array, start: number, lineEnd: number): number => {
    const first = input[start];
    if (first === QUOTE) {
      const end = stringEndAt(input, start, lineEnd);
      return end === -1 ? -1 : end + 1;
    }
    if (first === OPEN_BRACKET || first === OPEN_BRACE) {
      let depth = 0;
      let any = false;
      for (let at = start; at < lineEnd; at++) {
        const c = input[at];
        if (c === QUOTE) {
          at = stringEndAt(input, at, lineEnd);
          if (at === -1) return -1;
          any ||= escaped;
        } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
          depth++;
          if (c === OPEN_BRACE) any = true;
        } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
          depth--;
          if (depth === 0) {
            escaped = any;
            return at + 1;
          }
        }
      }
      return -1;
    }
    escaped = false;
    let at = start;
    while (at < lineEnd) {
      const c = input[at];
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET) break;
      at++;
    }
    return at === start ? -1 : at;
  };
  /** An array without escapes or objects: brackets become braces, null NULL, the rest as it is. */
  const copyArray = (input: Uint8Array, start: number, end: number) => {
    ensure((end - start) * 2);
    for (let at = start; at < end; at++) {
      const c = input[at] as number;
      if (c === QUOTE) {
        const close = stringEndAt(input, at, end);
        copy(input, at, close + 1);
        at = close;
      } else if (c === OPEN_BRACKET) out[pos++] = OPEN_BRACE;
      else if (c === CLOSE_BRACKET) out[pos++] = CLOSE_BRACE;
      else if (c === LETTER_N) {
        pos += encoder.encodeInto('NULL', out.subarray(pos)).written;
        at += 3;
      } else out[pos++] = c;
    }
  };
  /**
   * A JSON string's contents as COPY text, over bytes: \\ \n \r \t \b \f are the same escapes in
   * COPY text, \" and \/ lose their backslash. False (nothing written) at a \u escape, which the
   * string functions decode.
   */
  const copyEscapedString = (input: Uint8Array, from: number, to: number): boolean => {
    ensure(to - from);
    const start = pos;
    for (let at = from; at < to; at++) {
      const c = input[at] as number;
      if (c !== BACKSLASH) {
        out[pos++] = c;
        continue;
      }
      const next = input[++at] as number;
      if (next === LETTER_U) {
        pos = start;
        return false;
      }
      if (next !== QUOTE && next !== SLASH) out[pos++] = BACKSLASH;
      out[pos++] = next;
    }
    return true;
  };
  let nextBackslash = -1;
  const convertLine = (input: Uint8Array, lineStart: number, lineEnd: number) => {
    if (input[lineStart] !== OPEN_BRACE) fail(input, lineStart, 'not a backup row');
    if (nextBackslash !== -1 && nextBackslash < lineStart) nextBackslash = input.indexOf(BACKSLASH, lineStart);
    plainLine = nextBackslash === -1 || nextBackslash >= lineEnd;
    let at = lineStart + 1;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as CopyColumn;
      if (input[at] !== QUOTE) fail(input, lineStart, `not a backup row at byte ${at - lineStart}`);
      const keyEnd = stringEndAt(input, at, lineEnd);
      if (keyEnd === -1) fail(input, lineStart, 'not a backup row');
      const key = keys[i] as Uint8Array;
      let same = keyEnd - at - 1 === key.length;
      for (let k = 0; same && k < key.length; k++) same = input[at + 1 + k] === key[k];
      if (!same) {
        const found = decoder.decode(input.subarray(at + 1, keyEnd));
        if (JSON.parse(`"${found}"`) !== column.name) {
          fail(input, lineStart, `expected column ${column.name} at position ${i + 1}, found ${found}`);
        }
      }
      at = keyEnd + 1;
      if (input[at] !== COLON) fail(input, lineStart, `not a backup row at byte ${at - lineStart}`);
      at++;
      const end = valueEndAt(input, at, lineEnd);
      if (end === -1) fail(input, lineStart, `not a backup row at byte ${at - lineStart}`);
      if (i > 0) {
        ensure(1);
        out[pos++] = TAB;
      }
      const first = input[at];
      if (escaped && first === QUOTE && column.kind === 'scalar' && copyEscapedString(input, at + 1, end - 1)) {
        // a string with escapes COPY text spells the same way: copied over bytes
      } else if (
        escaped ||
        (first === QUOTE && column.kind === 'array') ||
        (first === OPEN_BRACKET && column.kind === 'scalar')
      ) {
        // Escapes, objects, an array read as text: the string functions.
        const text = decoder.decode(input.subarray(at, end));
        const field = column.kind === 'array' ? arrayField(text, 0, text.length) : scalarField(text, 0, text.length);
        ensure(field.length * 3);
        pos += encoder.encodeInto(field, out.subarray(pos)).written;
      } else if (first === QUOTE) copy(input, at + 1, end - 1);
      else if (first === OPEN_BRACKET) copyArray(input, at, end);
      else if (first === LETTER_N && end - at === 4) {
        ensure(2);
        out[pos++] = NULL_FIELD[0] as number;
        out[pos++] = NULL_FIELD[1] as number;
      } else copy(input, at, end);
      at = end;
      const separator = input[at];
      if (separator !== (i === columns.length - 1 ? CLOSE_BRACE : COMMA)) {
        fail(
          input,
          lineStart,
          `a row does not hold the ${columns.length} columns the manifest lists (at byte ${at - lineStart})`,
        );
      }
      at++;
    }
    if (columns.length === 0) {
      if (input[at] !== CLOSE_BRACE) fail(input, lineStart, 'not a backup row');
      at++;
    }
    if (at !== lineEnd) fail(input, lineStart, `not a backup row at byte ${at - lineStart}`);
    ensure(1);
    out[pos++] = NEWLINE;
    rows++;
  };
  const convertLines = (input: Uint8Array, upTo: number) => {
    out = new Uint8Array(upTo + (upTo >> 2) + 64);
    pos = 0;
    nextBackslash = input.indexOf(BACKSLASH);
    let lineStart = 0;
    while (lineStart < upTo) {
      const lineEnd = input.indexOf(NEWLINE, lineStart);
      if (lineEnd > lineStart) convertLine(input, lineStart, lineEnd);
      lineStart = lineEnd + 1;
    }
    return out.subarray(0, pos);
  };
  return {
    bytes: (async function* () {
      let carry: Uint8Array | undefined;
      for await (const chunk of source) {
        // A plain Uint8Array view: Buffer's indexOf is far slower than the typed array's on short searches.
        const input = carry
          ? concatTwo(carry, chunk)
          : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const last = input.lastIndexOf(NEWLINE);
        if (last === -1) {
          carry = input;
          continue;
        }
        carry = last + 1 < input.length ? input.slice(last + 1) : undefined;
        yield convertLines(input, last + 1);
      }
      if (carry) {
        const input = concatTwo(carry, new Uint8Array([NEWLINE]));
        yield convertLines(input, input.length);
      }
    })(),
    rows: () => rows,
  };
}

function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
