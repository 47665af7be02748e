// parseJson / stringifyJson: exact 64-bit integers, JSON.parse's answers
// everywhere else, and errors that say where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson, stringifyJson } from '../../src/runtime/spec/json.js';
import { BerthError } from '../../src/common/errors.js';

test('ordinary documents parse exactly as JSON.parse does', () => {
  const docs = ['{"a":[1,2.5,-3e2,true,false,null,"x\\n\\u00e9\\"\\\\\\/"],"b":{}}', '[]', '"s"', '0', ' {"k" : [ ] } '];
  for (const d of docs) assert.deepEqual(parseJson(d), JSON.parse(d));
});

test('the slow path (long digit runs) agrees with JSON.parse on safe values', () => {
  const d = '{"id":"1234567890123456789","n":12345,"f":1.25,"s":"tab\\there","nested":[{"x":-0}],"e":"\\ud83d\\ude00"}';
  assert.deepEqual(parseJson(d), JSON.parse(d));
});

test('integers beyond 2^53 become exact bigints; others stay numbers', () => {
  const v = parseJson('{"max":18446744073709551615,"neg":-9223372036854775808,"safe":9007199254740991,"float":18446744073709551615.0}') as Record<string, unknown>;
  assert.equal(v.max, 18446744073709551615n);
  assert.equal(v.neg, -9223372036854775808n);
  assert.equal(v.safe, 9007199254740991);
  assert.equal(typeof v.float, 'number');
});

test('a "__proto__" key is plain data', () => {
  const v = parseJson('{"__proto__":{"polluted":1},"n":12345678901234567890}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__', 'n']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('errors name the line and column', () => {
  const cases: [string, string][] = [
    ['{\n  "a": 1,\n}', 'expected a property name in double quotes, found character "}" at line 3 column 1'],
    ['{"a" 1}', 'expected ":", found character "1" at line 1 column 6'],
    ['[1, 2', 'expected "]", found end of input at line 1 column 6'],
    ['{"a": tru}', 'unexpected character "t" at line 1 column 7'],
    ['{"a": "x\ny"}', 'control character in string at line 1 column 9'],
    ['{"a": "x', 'unterminated string at line 1 column 7'],
    ['{"a": "\\q"}', 'bad escape sequence in string at line 1 column 8'],
    ['{} x', 'unexpected character "x" after the end of the document at line 1 column 4'],
    ['', 'unexpected end of input at line 1 column 1'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseJson(text), (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.kind, 'invalid-argument');
      assert.equal(err.message, message);
      return true;
    }, text);
  }
});

test('stringifyJson writes bigints as integer literals and round-trips', () => {
  const text = '{"a":18446744073709551615,"b":[1,-9223372036854775808],"s":"18446744073709551615"}';
  assert.equal(stringifyJson(parseJson(text)), text);
  assert.equal(stringifyJson({ a: 1n }, '\t'), '{\n\t"a": 1\n}');
  assert.equal(stringifyJson({ a: 'plain' }), '{"a":"plain"}');
});
