/**
 * Answering a registry's `WWW-Authenticate` challenge (Docker registry token
 * auth): `Basic` sends the stored credentials; `Bearer realm=…,service=…`
 * gets a token from the realm for the scopes the request needs
 * (`repository:<name>:pull[,push]`), with basic credentials when known, and
 * keeps it per scope until its `expires_in` runs out. After the first
 * challenge the scheme is remembered, so later requests authenticate at once
 * instead of paying a 401 round trip each.
 */
import { BerthError } from '../../common/errors.js';
import type { Credentials } from './credentials.js';

export interface Challenge {
  /** lowercase: "basic", "bearer" */
  scheme: string;
  params: Record<string, string>;
}

/** What the authorizer needs from the HTTP layer: a GET of the token realm. */
export type TokenGet = (url: URL, headers: Record<string, string>) => Promise<{ status: number; body: Buffer }>;

/** Tokens without `expires_in` live 60 s (the token spec's minimum). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Renew a little before the registry would refuse the token. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Parses `WWW-Authenticate` (one header or several): challenges separated by
 * commas, each a scheme then `key=value` / `key="quoted"` parameters.
 */
export function parseChallenges(value: string | string[] | undefined): Challenge[] {
  const texts = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const out: Challenge[] = [];
  for (const text of texts) {
    let i = 0;
    let current: Challenge | undefined;
    const skip = (): void => { while (i < text.length && (text[i] === ' ' || text[i] === ',' || text[i] === '\t')) i++; };
    const token = (): string => { const s = i; while (i < text.length && !/[\s,=]/.test(text[i]!)) i++; return text.slice(s, i); };
    for (skip(); i < text.length; skip()) {
      const word = token();
      if (word === '') { i++; continue; }
      while (text[i] === ' ') i++;
      if (text[i] !== '=') { current = { scheme: word.toLowerCase(), params: {} }; out.push(current); continue; }
      i++;
      while (text[i] === ' ') i++;
      let val = '';
      if (text[i] === '"') {
        for (i++; i < text.length && text[i] !== '"'; i++) val += text[i] === '\\' ? text[++i] ?? '' : text[i];
        i++;
      } else val = token();
      if (current) current.params[word.toLowerCase()] = val;
    }
  }
  return out;
}

export function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

interface CachedToken { header: string; expiresAt: number }

export interface AuthorizerOptions {
  /** the registry, for messages */
  host: string;
  credentials?: Credentials;
  get: TokenGet;
  now?: () => number;
}

export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthorizerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The Authorization header for these scopes when the scheme is already known (fetching a token if needed), else undefined. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    return this.authorize(this.challenge, scopes);
  }

  /**
   * Answers a 401: remembers the challenge, drops a token the registry no
   * longer takes, and returns the header to retry with. `permission-denied`
   * when the challenge cannot be answered (no credentials for Basic, the
   * token server refusing).
   */
  async answer(challenges: Challenge[], scopes: string[], rejected?: string): Promise<string> {
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!chosen) {
      const offered = challenges.map((c) => c.scheme).join(', ') || 'none';
      throw new BerthError('permission-denied', `${this.opts.host} asks for authentication with an unsupported scheme (${offered})`);
    }
    this.challenge = chosen;
    const key = this.scopeKey(chosen, scopes);
    if (rejected !== undefined && this.tokens.get(key)?.header === rejected) this.tokens.delete(key);
    return this.authorize(chosen, scopes);
  }

  private scopeKey(c: Challenge, scopes: string[]): string {
    return `${c.params.realm ?? ''} ${c.params.service ?? ''} ${[...scopes].sort().join(' ')}`;
  }

  private async authorize(c: Challenge, scopes: string[]): Promise<string> {
    if (c.scheme === 'basic') {
      if (!this.opts.credentials) throw new BerthError('permission-denied', `${this.opts.host} requires authentication and no credentials are stored for it`);
      return basicHeader(this.opts.credentials);
    }
    const key = this.scopeKey(c, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.header;
    const fresh = await this.fetchToken(c, scopes);
    this.tokens.set(key, fresh);
    return fresh.header;
  }

  private async fetchToken(c: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = c.params.realm;
    if (!realm) throw new BerthError('permission-denied', `${this.opts.host} sent a bearer challenge without a realm`);
    let url: URL;
    try { url = new URL(realm); } catch { throw new BerthError('permission-denied', `${this.opts.host} sent a bearer challenge with an invalid realm ${JSON.stringify(realm)}`); }
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (this.opts.credentials) headers.authorization = basicHeader(this.opts.credentials);
    const started = this.now();
    const res = await this.opts.get(url, headers);
    const where = `token server ${url.origin}${url.pathname} for ${this.opts.host}`;
    if (res.status === 401 || res.status === 403) {
      throw new BerthError('permission-denied', `${where} refused ${this.opts.credentials ? `the credentials of ${this.opts.credentials.username}` : 'anonymous access'} (${res.status})`);
    }
    if (res.status !== 200) throw new BerthError('unavailable', `${where} answered ${res.status}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try { body = JSON.parse(res.body.toString('utf8')) as typeof body; } catch { throw new BerthError('unavailable', `${where} answered with invalid json`); }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (token === '') throw new BerthError('unavailable', `${where} answered without a token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    return { header: `Bearer ${token}`, expiresAt: started + seconds * 1000 - EXPIRY_MARGIN_MS };
  }
}
