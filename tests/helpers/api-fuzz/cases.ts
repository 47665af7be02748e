/**
 * The generator: from the route table, the create bodies and the hostile
 * values, one case at a time — a request (or a few, or a broken one) as
 * bytes on a schedule, and what may come back. Every choice comes from the
 * seeded Rng, so a seed and an index name a case exactly.
 */
import { BODIES, mutateBody } from './bodies.js';
import type { Rng } from './rng.js';
import { fillPath, type RouteShape } from './routes.js';
import { hostileString, malformedJson, pathSegment } from './values.js';
import type { Step } from './wire.js';

export interface FuzzCase {
  label: string;
  steps: Step[];
  /** responses to wait for (0: none is owed, e.g. a dropped connection) */
  expect: number;
  /** the server may close without answering (broken framing, half-closed bodies) */
  mayClose: boolean;
  /** a 400 must name one of these fields */
  mentions?: string[];
  /** a HEAD request: answers carry no body */
  head?: boolean;
  /** the request reaches a registry that is down on purpose: 502–504 are its answers */
  upstream?: boolean;
  /** a valid request that may rightly take longer than a case may wait (stop with t=999 waits 999 s, as dockerd does) */
  mayBlock?: boolean;
}

/** Real objects a case may aim at, so handlers get past "no such container". */
export interface Targets { container?: string; volume?: string; network?: string; exec?: string }

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'TRACE', 'FOO', 'CONNECT'];
const VERSIONS = ['', '', '', '/v1.41', '/v1.45', '/v1.47', '/v1.99', '/v0.1', '/v1.', '/v9999999999999999999.1', '/v1.40'];
const QUERY_KEYS = [
  'all', 'limit', 'size', 'filters', 'force', 'v', 'link', 't', 'signal', 'condition', 'name', 'platform', 'fromSrc', 'repo', 'tag',
  'since', 'until', 'tail', 'follow', 'stdout', 'stderr', 'timestamps', 'stream', 'stdin', 'logs', 'detachKeys', 'h', 'w', 'ps_args',
  'path', 'noprune', 'names', 'type', 'noOverwriteDirIfExistsFile', 'copyUIDGID', 'one-shot', 'digests', 'shared-size', 'changes', 'message',
];
const BAD_FILTERS = [
  'not json', '{', '[]', '[1]', '"x"', 'null', '{"label":"x"}', '{"label":{"a":"yes"}}', '{"label":[1]}', '{"nope":{"x":true}}',
  '{"status":{"bogus":true}}', '{"before":{"zz":true}}', '{"until":{"notatime":true}}', '{"dangling":{"maybe":true}}', '{"label":{"\\u0000":true}}',
  '{"__proto__":{"x":true}}', '{"id":{"":true}}', '{"reference":{"[":true}}', '{"name":{"(":true}}',
];
const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-tar', '', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '*/*', 'application/json\u00e9'];

function manyFilters(n: number): string {
  return JSON.stringify({ label: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}=v`, true])) });
}

function queryValue(r: Rng, key: string): string {
  if (key === 'filters') return r.chance(0.03) ? manyFilters(r.pick([500, 100_000])) : r.pick(BAD_FILTERS);
  return r.pick([hostileString(r), 'yes', 'maybe', '-5', '1.5', '99999999999999999999', '0x10', '1e3', '', 'SIGKILL', 'SIGFOO', '999', 'not-running', 'all']);
}

function query(r: Rng): string {
  const n = r.pick([0, 0, 1, 1, 2, 3]);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = r.pick(QUERY_KEYS);
    const v = queryValue(r, key);
    parts.push(`${key}=${r.chance(0.8) ? encodeURIComponent(v) : v.replace(/[\s#\x00-\x1f]/g, '_')}`);
  }
  if (r.chance(0.05)) parts.push(r.pick(['%', '=&=', '&&&', 'a=%zz', '=x', 'x'.repeat(2000)]));
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function paramValue(r: Rng, name: string, t: Targets): string {
  const real = name === 'id' ? (r.chance(0.5) ? t.container : t.network) : name === 'name' ? t.volume : undefined;
  if (real !== undefined && r.chance(0.35)) return real;
  if (name === 'id' && t.exec !== undefined && r.chance(0.1)) return t.exec;
  return pathSegment(r);
}

export function request(method: string, target: string, headers: Record<string, string>, body?: Buffer | string, version = '1.1'): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const h = { Host: 'berth', ...(b !== undefined && !('Content-Length' in headers) && !('Transfer-Encoding' in headers) ? { 'Content-Length': String(b.length) } : {}), ...headers };
  const head = `${method} ${target} HTTP/${version}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return b === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

const one = (label: string, bytes: Buffer, extra: Partial<FuzzCase> = {}): FuzzCase => ({ label, steps: [{ write: bytes }], expect: 1, mayClose: false, ...extra });

type Gen = (r: Rng, routes: RouteShape[], t: Targets) => FuzzCase;

/** Whether a request may rightly outlast a case: a stop or restart given a valid grace period of 10 s or more waits that long before its answer. */
export function blocksByDesign(routePath: string, target: string): boolean {
  const grace = /[?&]t=(\d+)(?:&|$)/.exec(target);
  return /\/(stop|restart)$/.test(routePath) && grace !== null && Number(grace[1]) >= 10;
}

/** A known route with bad params, bad queries, other methods and versions, and a body of whatever kind. */
const routeCase: Gen = (r, routes, t) => {
  const route = r.pick(routes);
  const method = r.chance(0.85) ? route.method : r.pick(METHODS);
  const target = `${r.pick(VERSIONS)}${fillPath(route, (p) => paramValue(r, p, t))}${query(r)}`;
  const headers: Record<string, string> = { Connection: 'close' };
  let body: string | Buffer | undefined;
  if (method === 'POST' || method === 'PUT' || r.chance(0.1)) {
    body = r.pick<() => string | Buffer | undefined>([() => undefined, () => '{}', () => malformedJson(r, '{"a":1}'), () => hostileString(r), () => Buffer.from([0, 1, 2, 0xff])])();
    if (body !== undefined) headers['Content-Type'] = r.pick(CONTENT_TYPES);
  }
  const mayBlock = blocksByDesign(route.path, target);
  // HEAD answers carry no body: the status alone is checked
  return one(`${method} ${target.slice(0, 200)}`, request(method, target, headers, body), { head: method === 'HEAD', mayBlock });
};

/** A create body with fields of the wrong type. */
const bodyCase: Gen = (r, _routes, t) => {
  const shape = r.pick(BODIES);
  const { body, fields } = mutateBody(r, shape);
  const path = shape.path.replace('{id}', shape.path.startsWith('/networks') ? (t.network ?? 'x') : shape.path.startsWith('/exec') ? (t.exec ?? 'x') : (t.container ?? 'x'));
  const text = JSON.stringify(body);
  return one(`${shape.method} ${path} ${fields.join(',')}=${text.slice(0, 300)}`, request(shape.method, path, { 'Content-Type': 'application/json', Connection: 'close' }, text),
    { mentions: fields.length === 1 ? fields : undefined, upstream: shape.path === '/auth' });
};

/** Malformed JSON, with every content type, to the routes that read a JSON body. */
const jsonCase: Gen = (r, _routes, t) => {
  const shape = r.pick(BODIES);
  const path = shape.path.replace('{id}', t.container ?? 'x');
  const bad = malformedJson(r, JSON.stringify(shape.base()));
  return one(`${shape.method} ${path} malformed ${bad.toString().slice(0, 120)}`, request(shape.method, path, { 'Content-Type': r.chance(0.8) ? 'application/json' : r.pick(CONTENT_TYPES), Connection: 'close' }, bad),
    { upstream: shape.path === '/auth' });
};

/** Unknown paths and methods. */
const unknownCase: Gen = (r) => {
  const method = r.pick(METHODS.filter((m) => m !== 'HEAD'));
  const path = r.pick(['/', '/nope', '/containers', '/containers/', '/v1.45/', '/images//json', `/${pathSegment(r)}`, '/containers/x/y/z', '/_ping/x', '//_ping', '/v1.45/v1.45/_ping', '/%2e%2e/_ping', '*', 'http://berth/_ping', '/_ping?' + 'a'.repeat(3000)]);
  return one(`unknown ${method} ${path}`, request(method, path, { Connection: 'close' }));
};

/** Broken framing: chunked bodies, lengths that lie, both or neither. */
const framingCase: Gen = (r, _routes, t) => {
  const path = r.pick(['/containers/create', '/volumes/create', '/networks/create', `/containers/${t.container ?? 'x'}/update`, '/auth']);
  const head = (h: Record<string, string>): Buffer => request('POST', path, { 'Content-Type': 'application/json', ...h });
  const json = '{"Name":"x"}';
  const variants: (() => FuzzCase)[] = [
    () => ({ label: 'chunked ok but no terminator, half-closed', steps: [{ write: head({ 'Transfer-Encoding': 'chunked' }) }, { write: `5\r\n{"a":\r\n` }, { end: true }], expect: 1, mayClose: true }),
    () => one('chunked bad size', Buffer.concat([head({ 'Transfer-Encoding': 'chunked' }), Buffer.from('zz\r\nabc\r\n0\r\n\r\n')]), { mayClose: true }),
    () => one('chunked size overflow', Buffer.concat([head({ 'Transfer-Encoding': 'chunked' }), Buffer.from('ffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n')]), { mayClose: true }),
    () => one('chunked size lies', Buffer.concat([head({ 'Transfer-Encoding': 'chunked' }), Buffer.from('2\r\n{"Name":"x"}\r\n0\r\n\r\n')]), { mayClose: true }),
    () => one('chunked ok', Buffer.concat([head({ 'Transfer-Encoding': 'chunked', Connection: 'close' }), Buffer.from(`${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`)])),
    () => one('both lengths', Buffer.concat([head({ 'Transfer-Encoding': 'chunked', 'Content-Length': '3' }), Buffer.from('0\r\n\r\n')]), { mayClose: true }),
    () => one('bad transfer encoding', Buffer.concat([head({ 'Transfer-Encoding': 'gzip, identity' }), Buffer.from('x')]), { mayClose: true }),
    () => one('negative length', Buffer.concat([head({ 'Content-Length': '-5' }), Buffer.from('x')]), { mayClose: true }),
    () => one('two lengths', Buffer.concat([head({ 'Content-Length': '2, 3' }), Buffer.from('{}')]), { mayClose: true }),
    () => one('huge declared length', Buffer.concat([head({ 'Content-Length': '99999999999999999999' }), Buffer.from('{}')]), { mayClose: true }),
    () => one('length short of the body (the rest reads as garbage)', Buffer.concat([head({ 'Content-Length': '2' }), Buffer.from('{}GARBAGE\r\n\r\n')]), { mayClose: true }),
    () => ({ label: 'length beyond the body, half-closed', steps: [{ write: Buffer.concat([head({ 'Content-Length': '100' }), Buffer.from('{}')]) }, { end: true }], expect: 1, mayClose: true }),
    () => ({ label: 'headers then half-close', steps: [{ write: head({ 'Content-Length': '10' }) }, { end: true }], expect: 1, mayClose: true }),
    () => ({ label: 'dropped mid-body', steps: [{ write: Buffer.concat([head({ 'Content-Length': '1000' }), Buffer.from('{"Name":')]) }, { waitMs: 20 }, { destroy: true }], expect: 0, mayClose: true }),
    () => ({ label: 'dropped mid-headers', steps: [{ write: 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Le' }, { destroy: true }], expect: 0, mayClose: true }),
    () => ({ label: 'half-closed mid-headers', steps: [{ write: 'GET /_ping HTTP/1.1\r\nHo' }, { end: true }], expect: 0, mayClose: true }),
    () => one('garbage request line', Buffer.from(r.pick(['GARBAGE\r\n\r\n', '\x00\x01\x02\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /_ping HTTP/1.1\nHost: x\n\n', 'GET /_ping HTTP/1.1\r\nBad Header\r\n\r\n', 'GET /_ping HTTP/1.1\r\nX: a\x00b\r\n\r\n'])), { mayClose: true }),
  ];
  const c = r.pick(variants)();
  return { ...c, label: `${path} ${c.label}` };
};

/** Sizes beyond reason: a 10 MB body, a 1 MB header, 100k headers' worth of filters. */
const hugeCase: Gen = (r) => r.pick<() => FuzzCase>([
  () => one('10 MB JSON string body', request('POST', '/volumes/create', { 'Content-Type': 'application/json', Connection: 'close' }, `{"Name":"${'a'.repeat(10 * 1024 * 1024)}"}`)),
  () => one('10 MB garbage body', request('POST', '/containers/create', { 'Content-Type': 'application/json', Connection: 'close' }, Buffer.alloc(10 * 1024 * 1024, 0x5b)), { mayClose: true }),
  () => one('20 MB declared, 1 MB sent', request('POST', '/containers/create', { 'Content-Type': 'application/json', 'Content-Length': String(20 * 1024 * 1024) }, Buffer.alloc(1024 * 1024, 0x20)), { mayClose: true }),
  () => one('1 MB header', request('GET', '/_ping', { 'X-Big': 'a'.repeat(1024 * 1024) }), { mayClose: true }),
  () => one('10k headers', Buffer.from(`GET /_ping HTTP/1.1\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`), { mayClose: true }),
  () => one('100k filters', request('GET', `/containers/json?filters=${encodeURIComponent(manyFilters(100_000))}`, {}), { mayClose: true }),
  () => one('huge X-Registry-Auth', request('POST', '/images/create?fromImage=127.0.0.1:1/x&tag=1', { 'X-Registry-Auth': 'e'.repeat(12_000), Connection: 'close' }), { mayClose: true, upstream: true }),
  () => one('bad X-Registry-Auth', request('POST', '/images/create?fromImage=127.0.0.1:1/x&tag=1', { 'X-Registry-Auth': r.pick(['!!!', 'bnVsbA', 'W10', 'eyJ1c2VybmFtZSI6MX0']), Connection: 'close' }), { upstream: true }),
])();

/** Several requests in one write: each answered, in order. */
const pipelineCase: Gen = (r) => {
  const n = r.int(2, 5);
  const reqs = Array.from({ length: n }, (_, i) => request('GET', r.pick(['/_ping', '/version', '/nope', '/containers/json?all=1', '/volumes?filters=bad', '/v1.99/info']), i === n - 1 ? { Connection: 'close' } : {}));
  return { label: `${n} pipelined`, steps: [{ write: Buffer.concat(reqs) }], expect: n, mayClose: false };
};

/** HTTP/1.0, with and without keep-alive. */
const http10Case: Gen = (r) => one('HTTP/1.0', request('GET', r.pick(['/_ping', '/version', '/nope', '/containers/json']), r.chance(0.5) ? {} : { Connection: 'keep-alive' }, undefined, '1.0'));

const GENERATORS: [Gen, number][] = [
  [routeCase, 40], [bodyCase, 30], [jsonCase, 12], [unknownCase, 5], [framingCase, 8], [hugeCase, 1], [pipelineCase, 3], [http10Case, 1],
];

export function nextCase(r: Rng, routes: RouteShape[], t: Targets): FuzzCase {
  const total = GENERATORS.reduce((a, [, w]) => a + w, 0);
  let x = r.next() * total;
  for (const [g, w] of GENERATORS) {
    x -= w;
    if (x < 0) return g(r, routes, t);
  }
  return routeCase(r, routes, t);
}

/** Headers trickled a byte at a time: the server must answer 408 or close, not wait forever. */
export function slowLoris(gapMs: number): Step[] {
  return [{ trickle: 'GET /_ping HTTP/1.1\r\nHost: berth\r\nX-Slow: ' + 'a'.repeat(10_000), gapMs }];
}
