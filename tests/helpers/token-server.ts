/**
 * A small token server for the registry's `auth: token:` mode (Docker
 * registry token authentication): GET /token?service=…&scope=… answers
 * `{"token","access_token","expires_in"}` with a JWT signed RS256 by a
 * self-signed certificate made with openssl; the JWT header carries the
 * certificate in `x5c`, which the registry checks against its
 * `rootcertbundle`. Known users get the actions they ask for; a wrong
 * password gets 401; anonymous clients get a token without access.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const TOKEN_SERVICE = 'berth-test-registry';
export const TOKEN_ISSUER = 'berth-test-issuer';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file for the registry's rootcertbundle */
  certFile: string;
  /** tokens issued so far (to see caching work) */
  issued(): number;
  /** the scopes asked for, in order */
  scopes(): string[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Makes the signing key and its certificate in `dir` with Debian's openssl. */
function makeCertificate(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', `/CN=${TOKEN_ISSUER}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { keyFile, certFile };
}

interface Access { type: string; name: string; actions: string[] }

/** "repository:a/b:pull,push" → access entry */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

export async function startTokenServer(dir: string, users: Record<string, string>, expiresIn = 300): Promise<TokenServer> {
  const { keyFile, certFile } = makeCertificate(dir);
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  let issued = 0;
  const seenScopes: string[] = [];

  function sign(subject: string, access: Access[]): string {
    const now = Math.floor(Date.now() / 1000);
    const head = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: TOKEN_ISSUER, sub: subject, aud: TOKEN_SERVICE, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomBytes(12).toString('hex'), access };
    const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key);
    return `${input}.${b64url(signature)}`;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token') { res.writeHead(404).end(); return; }
    let subject = '';
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const text = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const [user, password] = [text.slice(0, colon), text.slice(colon + 1)];
      if (users[user] === undefined || users[user] !== password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'invalid credentials' }));
        return;
      }
      subject = user;
    }
    const scopes = url.searchParams.getAll('scope');
    seenScopes.push(...scopes);
    const access = subject === '' ? [] : scopes.map(parseScope).filter((a): a is Access => a !== undefined);
    issued++;
    const token = sign(subject, access);
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  }

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: TOKEN_SERVICE,
    issuer: TOKEN_ISSUER,
    certFile,
    issued: () => issued,
    scopes: () => [...seenScopes],
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
