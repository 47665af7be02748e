/**
 * JSON for OCI configs, keeping 64-bit integers exact.
 *
 * Several config fields are uint64 or int64 (rlimits, memory limits,
 * hugepage limits, seccomp argument values) and real configs carry values
 * beyond 2^53 (RLIM_INFINITY = 18446744073709551615, 9223372036854771712 …)
 * that a plain JSON.parse silently rounds. So:
 *   - an integer literal that is not a safe JS integer becomes a `bigint`;
 *   - every other number stays a `number` (so ordinary configs look ordinary).
 * Node 20's JSON.parse cannot show a reviver the source text, hence a small
 * parser of our own. It only runs when the text holds a run of 16 or more
 * digits (or JSON.parse has refused the text, to say where); everything else
 * goes through the native parser.
 */
import { invalidArgument } from '../../common/errors.js';

/** A JSON value as parsed here: numbers may be bigints. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** Parses JSON text; throws BerthError('invalid-argument') naming line and column. */
export function parseJson(text: string): JsonValue {
  if (!/\d{16}/.test(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // fall through: our parser says where the text is wrong
    }
  }
  return new Parser(text).parseDocument();
}

/**
 * JSON.stringify that writes bigints as plain integer literals, so a config
 * read with parseJson is written back unchanged.
 */
export function stringifyJson(value: unknown, indent?: string | number): string {
  const marker = `\u0000bigint${Math.random().toString(36).slice(2)}:`;
  let sawBigint = false;
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    sawBigint = true;
    return `${marker}${v.toString()}`;
  }, indent);
  if (!sawBigint) return text;
  const escaped = JSON.stringify(marker).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`"${escaped}(-?\\d+)"`, 'g'), '$1');
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const PLAIN_STRING = /[^"\\\u0000-\u001f]*/y;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    this.skip();
    const v = this.value();
    this.skip();
    if (this.i < this.s.length) this.fail(`unexpected ${this.describe()} after the end of the document`);
    return v;
  }

  private value(): JsonValue {
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(`unexpected ${this.describe()}`);
  }

  private object(): { [key: string]: JsonValue } {
    const out: { [key: string]: JsonValue } = {};
    this.i++;
    this.skip();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail(`expected a property name in double quotes, found ${this.describe()}`);
      const key = this.string();
      this.skip();
      this.expect(':');
      this.skip();
      // defineProperty: a "__proto__" key is data, as with JSON.parse
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skip();
      if (this.s[this.i] === ',') {
        this.i++;
        this.skip();
        continue;
      }
      this.expect('}');
      return out;
    }
  }

  private array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.skip();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skip();
      if (this.s[this.i] === ',') {
        this.i++;
        this.skip();
        continue;
      }
      this.expect(']');
      return out;
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    let out = '';
    for (;;) {
      PLAIN_STRING.lastIndex = this.i;
      PLAIN_STRING.exec(this.s);
      out += this.s.slice(this.i, PLAIN_STRING.lastIndex);
      this.i = PLAIN_STRING.lastIndex;
      const c = this.s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === undefined) {
        this.i = start;
        this.fail('unterminated string');
      }
      if (c === '\\') {
        out += this.escape();
        continue;
      }
      this.fail('control character in string');
    }
  }

  private escape(): string {
    const c = this.s[this.i + 1];
    const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (c !== undefined && simple[c] !== undefined) {
      this.i += 2;
      return simple[c];
    }
    if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) {
      const ch = String.fromCharCode(parseInt(this.s.slice(this.i + 2, this.i + 6), 16));
      this.i += 6;
      return ch;
    }
    return this.fail('bad escape sequence in string');
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail(`unexpected ${this.describe()}`);
    this.i = NUMBER.lastIndex;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private skip(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private expect(c: string): void {
    if (this.s[this.i] !== c) this.fail(`expected "${c}", found ${this.describe()}`);
    this.i++;
  }

  private describe(): string {
    const c = this.s[this.i];
    return c === undefined ? 'end of input' : `character ${JSON.stringify(c)}`;
  }

  private fail(what: string): never {
    const before = this.s.slice(0, this.i);
    const line = before.split('\n').length;
    const column = this.i - before.lastIndexOf('\n');
    throw invalidArgument(`${what} at line ${line} column ${column}`);
  }
}
