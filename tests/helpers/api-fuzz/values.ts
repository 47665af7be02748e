/**
 * Hostile values: strings for names, ids and query arguments, JSON values
 * of every wrong type for body fields, and malformed JSON documents.
 */
import type { Rng } from './rng.js';

/** Path and query strings a client may send (raw: some are not valid URL text on purpose). */
export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '..', '../..', '../../../etc/passwd', '%2e%2e%2f%2e%2e', '%00', 'a%00b', '%', '%zz', '%c3%28', '%ed%a0%80',
  '.', '/', '//', '\\', '?', '#', ';', '*', 'null', 'undefined', 'NaN', '-1', '0', '1e308', '18446744073709551616',
  'true', '{}', '[]', '{"a":', 'ünïcødé', '名前', '\u{1F600}', '\u202e', 'a b', 'A'.repeat(4096), 'x'.repeat(300),
  'sha256:', 'sha256:' + '0'.repeat(64), '0'.repeat(64), 'f', 'busybox:', ':latest', '@sha256:zz', 'UPPER',
  '-rf', '--force', '$(id)', '`id`', '\'', '"', '<script>', 'a\tb',
];

export function hostileString(r: Rng): string {
  return r.pick(HOSTILE_STRINGS);
}

/** A path segment: hostile text, sometimes percent-encoded, sometimes raw. */
export function pathSegment(r: Rng): string {
  const s = hostileString(r);
  if (r.chance(0.5)) return encodeURIComponent(s);
  // raw text is only sendable without spaces and control characters in a request line
  return s.replace(/[\s\x00-\x1f]/g, '_');
}

/** JSON values of every type, including the edges of numbers. */
export function wrongValue(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => 'a string', () => '', () => hostileString(r), () => [], () => ['x', 1, null], () => [[[]]], () => ({}),
    () => ({ a: { b: 1 } }), () => null, () => true, () => false, () => -1, () => 0, () => -9223372036854775808,
    () => 1e308, () => -1e308, () => 2 ** 64, () => 2 ** 63, () => 1.5, () => 4294967296, () => 'x'.repeat(100_000),
    () => Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), () => Array.from({ length: 10_000 }, (_, i) => i),
  ])();
}

/** Text that is not a JSON document, or is one no route expects. */
export function malformedJson(r: Rng, valid: string): string | Buffer {
  const depth = r.pick([1000, 10_000, 100_000]);
  return r.pick<() => string | Buffer>([
    () => valid.slice(0, r.int(1, Math.max(1, valid.length - 1))), // truncated
    () => `${valid}}garbage`,
    () => `${valid}\n${valid}`,
    () => '['.repeat(depth) + ']'.repeat(depth),
    () => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
    () => '['.repeat(depth), // deep and unclosed
    () => `{"Image":"${'x'.repeat(r.pick([1000, 1_000_000]))}"}`,
    () => '{"Memory": NaN}', () => '{"Memory": Infinity}', () => '{"Memory": -Infinity}', () => '{"Memory": 0x10}',
    () => '{"Image":"a","Image":{"b":1},"Image":[1]}', // duplicate keys
    () => `\ufeff${valid}`, // a byte order mark
    () => "{'Image': 'busybox'}", () => '{"Image": "busybox",}', () => '/* c */ {}', () => '{"a":"\\ud800"}',
    () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), // invalid UTF-8 in a string
    () => 'null', () => '[]', () => '"text"', () => '12', () => 'true', () => '\u0000', () => '{"__proto__": {"polluted": 1}}',
    () => '{"constructor": {"prototype": {"polluted": 1}}}',
  ])();
}
