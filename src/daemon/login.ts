/**
 * POST /auth: checks credentials against the registry itself, as dockerd
 * does, by the distribution spec's /v2/ endpoint: a 200 without
 * credentials, or after Basic auth, or after a Bearer token obtained from
 * the realm the registry names with those credentials. Registries listed
 * as insecure (and 127.0.0.0/8) are tried over TLS without verification,
 * then over plain http.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { unavailable } from '../common/errors.js';
import { HttpError, type AuthRequest, type AuthResult } from '../api/index.js';

interface Reply { status: number; statusText: string; headers: IncomingHttpHeaders; body: string }

const TIMEOUT_MS = 15_000;

/** The registry's host[:port] from what `docker login` sends (a URL, a host, Docker Hub's index URL). */
export function registryHost(serverAddress: string): string {
  let s = serverAddress.trim().replace(/^[a-z]+:\/\//i, '');
  s = s.split('/')[0]!;
  if (s === 'index.docker.io' || s === 'docker.io') return 'registry-1.docker.io';
  return s;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  if (base === undefined || bits === undefined || isIP(base) !== 4 || isIP(ip) !== 4) return false;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(base) & mask);
}

/** Whether a registry is insecure: listed by host[:port], or inside a listed CIDR (127.0.0.0/8 always). */
export function isInsecure(host: string, insecure: readonly string[]): boolean {
  if (insecure.includes(host)) return true;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0]!;
  const ip = name === 'localhost' ? '127.0.0.1' : name;
  return ['127.0.0.0/8', ...insecure.filter((c) => c.includes('/'))].some((c) => inCidr(ip, c));
}

function get(url: string, headers: Record<string, string>, verifyTls: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: 'GET', headers, timeout: TIMEOUT_MS, rejectUnauthorized: verifyTls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 256) chunks.push(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Parses `Bearer realm="…",service="…"` (or Basic) of a WWW-Authenticate header. */
export function parseChallenge(header: string | undefined): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme: m[1]!.toLowerCase(), params };
}

function refused(endpoint: string, r: Reply): HttpError {
  return new HttpError(401, `login attempt to ${endpoint} failed with status: ${r.status} ${r.statusText}`);
}

async function loginAt(base: string, req: AuthRequest, verifyTls: boolean): Promise<AuthResult> {
  const endpoint = `${base}/v2/`;
  const first = await get(endpoint, {}, verifyTls);
  const ok: AuthResult = { Status: 'Login Succeeded', IdentityToken: '' };
  if (first.status === 200) return ok;
  if (first.status !== 401) throw refused(endpoint, first);
  const challenge = parseChallenge(first.headers['www-authenticate'] as string | undefined);
  const basic = `Basic ${Buffer.from(`${req.username}:${req.password}`).toString('base64')}`;
  if (challenge?.scheme === 'basic') {
    const r = await get(endpoint, { Authorization: basic }, verifyTls);
    if (r.status === 200) return ok;
    throw refused(endpoint, r);
  }
  if (challenge?.scheme === 'bearer' && challenge.params.realm) {
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    if (req.username) realm.searchParams.set('account', req.username);
    const auth = req.registrytoken ? `Bearer ${req.registrytoken}` : basic;
    const t = await get(realm.toString(), { Authorization: auth }, verifyTls);
    if (t.status !== 200) throw refused(endpoint, t);
    let token = '';
    try {
      const doc = JSON.parse(t.body) as { token?: string; access_token?: string };
      token = doc.token ?? doc.access_token ?? '';
    } catch { /* handled below */ }
    if (token === '') throw new HttpError(401, `login attempt to ${endpoint} failed: the token server ${realm.origin} returned no token`);
    const r = await get(endpoint, { Authorization: `Bearer ${token}` }, verifyTls);
    if (r.status === 200) return ok;
    throw refused(endpoint, r);
  }
  throw refused(endpoint, first);
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'no such host' : e.message;
}

export async function registryLogin(req: AuthRequest, insecureRegistries: readonly string[]): Promise<AuthResult> {
  const host = registryHost(req.serveraddress);
  const insecure = isInsecure(host, insecureRegistries);
  try {
    return await loginAt(`https://${host}`, req, !insecure);
  } catch (err) {
    if (err instanceof HttpError || !insecure) {
      if (err instanceof HttpError) throw err;
      throw unavailable(`cannot log in to ${host}: ${reason(err)}`);
    }
  }
  // an insecure registry that does not speak TLS: plain http, as dockerd falls back
  try {
    return await loginAt(`http://${host}`, req, false);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw unavailable(`cannot log in to ${host}: ${reason(err)}`);
  }
}
