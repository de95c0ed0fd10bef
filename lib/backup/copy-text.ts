// JSON lines (as the backup writes them, see exportQuery) turned into COPY text rows in Node, so a
// restore on the COPY path hands the server plain COPY input instead of parsing JSON back with
// json_populate_record. Each value becomes exactly the text json_populate_record would have given
// the column type's input function: a JSON string's contents, a number's own text (numeric
// precision kept), true/false, NULL; a JSON array becomes an array literal.

/** How a column's JSON values turn into COPY text. */
export type CopyColumn = {
  name: string;
  /** `array`: a JSON array becomes an array literal; `scalar`: every other type (json/jsonb included). */
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
