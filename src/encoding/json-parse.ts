/**
 * JSON parsing that keeps integers exact.
 *
 * `JSON.parse` turns `9223372036854775807` into 9223372036854775808, which would build the wrong
 * entity key. Python's json.loads (what Feast's server uses) keeps integer literals as exact
 * ints, so here an integer literal (no fraction, no exponent) that is not a safe JS integer
 * comes back as a `bigint`; everything else is what JSON.parse gives.
 *
 * Fast path: every unsafe integer literal has at least 16 digits, so text without a run of 16
 * digits goes straight to JSON.parse. Otherwise (and to locate errors) a small recursive-descent
 * parser runs.
 */
import { PlatterError } from '../errors.js';

const LONG_DIGIT_RUN = /\d{16}/;
const MAX_DEPTH = 2000;

export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: the exact parser reports the error with its position
    }
  }
  return new ExactParser(text).parseDocument();
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

class ExactParser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly text: string) {}

  private fail(what: string, at = this.pos): never {
    throw new PlatterError('INVALID_ARGUMENT', `request body is not valid JSON: ${what} at position ${at}`);
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return 'unexpected end of input';
    const cp = this.text.codePointAt(this.pos)!;
    return `unexpected character ${JSON.stringify(String.fromCodePoint(cp))}`;
  }

  parseDocument(): unknown {
    this.skipWs();
    const v = this.parseValue();
    this.skipWs();
    if (this.pos < this.text.length) this.fail(`${this.describeHere()} after the JSON value`);
    return v;
  }

  private skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 123: // {
        return this.parseObject();
      case 91: // [
        return this.parseArray();
      case 34: // "
        return this.parseString();
      case 116: // t
        return this.literal('true', true);
      case 102: // f
        return this.literal('false', false);
      case 110: // n
        return this.literal('null', null);
      default:
        if (c === 45 || isDigit(c)) return this.parseNumber();
        return this.fail(this.describeHere());
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(this.describeHere());
    this.pos += word.length;
    return value;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
  }

  private parseObject(): Record<string, unknown> {
    this.enter();
    this.pos++; // {
    const obj: Record<string, unknown> = {};
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      this.depth--;
      return obj;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 34) this.fail(`expected a string key, ${this.describeHere()}`);
      const key = this.parseString();
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 58) this.fail(`expected ':', ${this.describeHere()}`);
      this.pos++;
      this.skipWs();
      const v = this.parseValue();
      if (key === '__proto__') {
        // like JSON.parse: an own property, never the prototype
        Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
      } else obj[key] = v;
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        this.skipWs();
      } else if (c === 125) {
        this.pos++;
        this.depth--;
        return obj;
      } else this.fail(`expected ',' or '}', ${this.describeHere()}`);
    }
  }

  private parseArray(): unknown[] {
    this.enter();
    this.pos++; // [
    const arr: unknown[] = [];
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 93) {
      this.pos++;
      this.depth--;
      return arr;
    }
    for (;;) {
      arr.push(this.parseValue());
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        this.skipWs();
      } else if (c === 93) {
        this.pos++;
        this.depth--;
        return arr;
      } else this.fail(`expected ',' or ']', ${this.describeHere()}`);
    }
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    let p = start + 1; // after the opening quote
    let out = '';
    let chunk = p;
    for (;;) {
      if (p >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(p);
      if (c === 34) {
        out += t.slice(chunk, p);
        this.pos = p + 1;
        return out;
      }
      if (c === 92) {
        out += t.slice(chunk, p);
        const e = t.charCodeAt(p + 1);
        switch (e) {
          case 34:
            out += '"';
            break;
          case 92:
            out += '\\';
            break;
          case 47:
            out += '/';
            break;
          case 98:
            out += '\b';
            break;
          case 102:
            out += '\f';
            break;
          case 110:
            out += '\n';
            break;
          case 114:
            out += '\r';
            break;
          case 116:
            out += '\t';
            break;
          case 117: {
            // \uXXXX; a surrogate pair arrives as two escapes and joins in the JS string
            const hex = t.slice(p + 2, p + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape', p);
            out += String.fromCharCode(parseInt(hex, 16));
            p += 4;
            break;
          }
          default:
            if (p + 1 >= t.length) this.fail('unterminated string', start);
            this.fail(`invalid escape ${JSON.stringify('\\' + t[p + 1])}`, p);
        }
        p += 2;
        chunk = p;
        continue;
      }
      if (c < 0x20) this.fail('control character in string', p);
      p++;
    }
  }

  private parseNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 45) p++;
    const intStart = p;
    if (t.charCodeAt(p) === 48) {
      p++;
      if (isDigit(t.charCodeAt(p))) this.fail('leading zero in number', start);
    } else if (isDigit(t.charCodeAt(p))) {
      while (isDigit(t.charCodeAt(p))) p++;
    } else this.fail('invalid number', start);
    const intDigits = p - intStart;
    let isInteger = true;
    if (t.charCodeAt(p) === 46) {
      isInteger = false;
      p++;
      if (!isDigit(t.charCodeAt(p))) this.fail('invalid number: digit expected after "."', p);
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 101 || e === 69) {
      isInteger = false;
      p++;
      const s = t.charCodeAt(p);
      if (s === 43 || s === 45) p++;
      if (!isDigit(t.charCodeAt(p))) this.fail('invalid number: digit expected in exponent', p);
      while (isDigit(t.charCodeAt(p))) p++;
    }
    this.pos = p;
    const lit = t.slice(start, p);
    if (isInteger && intDigits >= 16) {
      const b = BigInt(lit);
      if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) return b;
      return Number(b);
    }
    return Number(lit);
  }
}
