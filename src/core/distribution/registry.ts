/**
 * A client of one registry (OCI distribution spec, Docker registry v2):
 * resolve a reference to a descriptor, fetch manifests and blobs (verified,
 * resumable with Range), and the push primitives (blob exists, cross-repo
 * mount, monolithic and chunked upload, manifest put).
 *
 * Every request goes through `request()`: the scheme (https, or http for an
 * insecure registry that does not speak TLS), authentication (a 401 is
 * answered once through the Authorizer), bounded retries with backoff for
 * idempotent requests on 5xx, 429, network failures and timeouts, and the
 * registry's error body turned into a RegistryError.
 */
import { Readable, Transform } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { MediaType, isIndexMediaType, isManifestMediaType, type Descriptor } from '../oci/types.js';
import { Authorizer, parseChallenges } from './auth.js';
import { readCredentials, type Credentials } from './credentials.js';
import { algorithmOf, digestOf, verifyDigest } from './digest.js';
import { RegistryError, registryError } from './errors.js';
import { isInsecureRegistry } from './hosts.js';
import { Agents, header, isTlsFailure, readBody, send, type HttpResponse, type Method } from './http.js';
import { apiHost, formatReference, manifestSelector, parseReference, type Reference } from './reference.js';

/** Manifests and indexes Berth reads, best first (Docker schema 1 is not among them). */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');
/** A manifest bigger than this is refused (they are a few KiB; this bounds memory). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** Blobs above this go up in PATCHed chunks of DEFAULT_CHUNK_SIZE. */
const DEFAULT_CHUNK_THRESHOLD = 32 * 1024 * 1024;
const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_USER_AGENT = 'berth/0.1.0';

export interface RegistryClientOptions {
  /** the API host: "127.0.0.1:5000", "registry-1.docker.io" */
  host: string;
  /** http allowed (tried after https), TLS certificates not checked */
  insecure?: boolean;
  credentials?: Credentials;
  userAgent?: string;
  /** how long a request may stay silent (connect, headers, any pause in a body) */
  timeoutMs?: number;
  /** attempts for idempotent requests (5xx, 429, network failures, timeouts) */
  attempts?: number;
  backoffMs?: number;
  chunkThreshold?: number;
  chunkSize?: number;
}

/** The core's registry settings, from which a client is made for a reference. */
export interface RegistrySettings {
  /** host[:port] or CIDR entries, on top of the loopback default */
  insecureRegistries?: readonly string[];
  /** where credentials come from; default: Docker's config.json */
  credentials?: (domain: string) => Credentials | undefined;
  userAgent?: string;
  timeoutMs?: number;
  attempts?: number;
}

/** What a blob push reads: the bytes, or a stream of them opened from an offset. */
export type BlobSource = Buffer | ((offset: number) => Readable);

interface Call {
  method: Method;
  /** a path under the registry ("/v2/…") or an absolute URL (upload locations) */
  target: string | URL;
  scopes: string[];
  ok: number[];
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  /** idempotent: may be sent again after a failure */
  retry: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Environment variable that sets how long a registry may stay silent (ms) when the settings do not say. */
export const TIMEOUT_ENV = 'BERTH_REGISTRY_TIMEOUT_MS';

/** The silence allowed by $BERTH_REGISTRY_TIMEOUT_MS, or undefined (the default) when unset; a bad value is refused. */
export function timeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[TIMEOUT_ENV];
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new BerthError('invalid-argument', `invalid ${TIMEOUT_ENV} ${JSON.stringify(text)}: not a positive number of milliseconds`);
  return ms;
}

function pullScope(repo: string): string { return `repository:${repo}:pull`; }
function pushScope(repo: string): string { return `repository:${repo}:pull,push`; }

/** Adds what was being done to an error, keeping its kind and registry code. */
function context(what: string, err: unknown): BerthError {
  if (err instanceof RegistryError) return new RegistryError(err.kind, `${what}: ${err.message}`, err.code, err.status);
  if (err instanceof BerthError) return new BerthError(err.kind, `${what}: ${err.message}`, { cause: err, errno: err.errno });
  return new BerthError('internal', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function isRetryable(err: unknown): boolean {
  return err instanceof BerthError && err.kind === 'unavailable';
}

/** The media type of a manifest body whose Content-Type did not say. */
function sniffMediaType(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
    if (Array.isArray(parsed.manifests)) return MediaType.ociIndex;
    if (parsed.config) return MediaType.ociManifest;
  } catch { /* not json: reported by the caller as unsupported */ }
  return 'application/octet-stream';
}

/** Drops the first `skip` bytes: for a registry that answers a Range request with the whole blob. */
function skipBytes(skip: number): Transform {
  let left = skip;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (left >= chunk.length) { left -= chunk.length; done(); return; }
      const rest = chunk.subarray(left);
      left = 0;
      done(null, rest);
    },
  });
}

/** Re-cuts a stream into pieces of exactly `size` bytes (the last one shorter). */
async function* rechunk(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      pendingBytes = all.length - size;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

export class RegistryClient {
  readonly host: string;
  private readonly insecure: boolean;
  private scheme: 'https' | 'http' | undefined;
  private readonly agents: Agents;
  private readonly authorizer: Authorizer;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(opts: RegistryClientOptions) {
    this.host = opts.host;
    this.insecure = opts.insecure ?? false;
    this.agents = new Agents(this.insecure);
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attempts = Math.max(1, opts.attempts ?? DEFAULT_ATTEMPTS);
    this.backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.chunkThreshold = opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.authorizer = new Authorizer({
      host: this.host,
      credentials: opts.credentials,
      get: async (url, headers) => {
        const res = await send({ method: 'GET', url, headers: { ...headers, 'user-agent': this.userAgent }, timeoutMs: this.timeoutMs }, this.agents);
        return { status: res.status, body: await readBody(res, MAX_ERROR_BODY, `token from ${url.origin}`) };
      },
    });
  }

  /** A client for the registry of a normalised reference, with the core's settings (insecure list, credentials, timeout). */
  static forReference(ref: Reference, settings: RegistrySettings = {}): RegistryClient {
    const host = apiHost(ref.domain);
    const creds = (settings.credentials ?? ((d: string) => readCredentials(d)))(ref.domain);
    return new RegistryClient({
      host, insecure: isInsecureRegistry(host, settings.insecureRegistries), credentials: creds,
      userAgent: settings.userAgent, timeoutMs: settings.timeoutMs ?? timeoutFromEnv(), attempts: settings.attempts,
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agents.destroy();
  }

  // ---- reading ----

  /**
   * The descriptor a reference names: a HEAD of the manifest (its
   * Docker-Content-Digest, Content-Type and Content-Length), or a GET when
   * the HEAD does not tell, whose body is then checked against the digests.
   */
  async resolve(refOrText: Reference | string): Promise<{ name: string; descriptor: Descriptor }> {
    const ref = typeof refOrText === 'string' ? parseReference(refOrText) : refOrText;
    const name = formatReference(ref);
    if (apiHost(ref.domain) !== this.host) throw new BerthError('invalid-argument', `cannot resolve ${name}: it is not on registry ${this.host}`);
    try {
      const headed = await this.resolveByHead(ref);
      if (headed) return { name, descriptor: headed };
      return { name, descriptor: await this.resolveByGet(ref) };
    } catch (err) {
      throw context(`cannot resolve ${name}`, err);
    }
  }

  private manifestPath(repo: string, selector: string): string {
    return `/v2/${repo}/manifests/${selector}`;
  }

  private async resolveByHead(ref: Reference): Promise<Descriptor | undefined> {
    let res: HttpResponse;
    try {
      res = await this.request({ method: 'HEAD', target: this.manifestPath(ref.path, manifestSelector(ref)), scopes: [pullScope(ref.path)], ok: [200], headers: { accept: MANIFEST_ACCEPT }, retry: true });
    } catch (err) {
      if (err instanceof RegistryError) return undefined; // the GET gets the registry's explanation
      throw err;
    }
    res.body.resume();
    const digest = header(res, 'docker-content-digest');
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    const size = Number(header(res, 'content-length') ?? NaN);
    if (!digest || !Number.isFinite(size) || !(isManifestMediaType(mediaType) || isIndexMediaType(mediaType))) return undefined;
    if (ref.digest && digest !== ref.digest) return undefined; // let the GET check the body against what was asked
    return { mediaType, digest, size };
  }

  private async resolveByGet(ref: Reference): Promise<Descriptor> {
    const res = await this.request({ method: 'GET', target: this.manifestPath(ref.path, manifestSelector(ref)), scopes: [pullScope(ref.path)], ok: [200], headers: { accept: MANIFEST_ACCEPT }, retry: true });
    const body = await readBody(res, MAX_MANIFEST_BYTES, 'manifest');
    const claimed = header(res, 'docker-content-digest');
    if (ref.digest) verifyDigest(body, ref.digest, 'manifest');
    if (claimed) verifyDigest(body, claimed, 'manifest');
    const digest = ref.digest ?? claimed ?? digestOf(body);
    let mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    if (!isManifestMediaType(mediaType) && !isIndexMediaType(mediaType)) mediaType = sniffMediaType(body);
    if (!isManifestMediaType(mediaType) && !isIndexMediaType(mediaType)) throw new BerthError('failed-precondition', `unsupported manifest media type ${JSON.stringify(mediaType)}`);
    return { mediaType, digest, size: body.length };
  }

  /** A manifest or index by its descriptor: at most MAX_MANIFEST_BYTES, digest and size checked. */
  async fetchManifest(repo: string, desc: Descriptor): Promise<Buffer> {
    const what = `cannot fetch manifest ${this.host}/${repo}@${desc.digest}`;
    try {
      algorithmOf(desc.digest);
      if (desc.size > MAX_MANIFEST_BYTES) throw new BerthError('failed-precondition', `manifest is ${desc.size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
      const res = await this.request({ method: 'GET', target: this.manifestPath(repo, desc.digest), scopes: [pullScope(repo)], ok: [200], headers: { accept: MANIFEST_ACCEPT }, retry: true });
      const body = await readBody(res, MAX_MANIFEST_BYTES, 'manifest');
      verifyDigest(body, desc.digest, 'manifest');
      if (desc.size > 0 && body.length !== desc.size) throw new BerthError('failed-precondition', `manifest is ${body.length} bytes, the descriptor says ${desc.size}`);
      return body;
    } catch (err) {
      throw context(what, err);
    }
  }

  /**
   * A stream of a blob from `offset` (a Range request; a registry that
   * ignores Range has the first bytes skipped here). The bytes are not
   * checked: the content writer they go to checks size and digest.
   */
  async fetchBlob(repo: string, desc: Descriptor, offset = 0): Promise<Readable> {
    try {
      algorithmOf(desc.digest);
      const headers: Record<string, string> = {};
      if (offset > 0) headers.range = `bytes=${offset}-`;
      const res = await this.request({ method: 'GET', target: `/v2/${repo}/blobs/${desc.digest}`, scopes: [pullScope(repo)], ok: [200, 206], headers, retry: true });
      if (offset > 0 && res.status === 200) return res.body.pipe(skipBytes(offset));
      if (offset > 0) {
        const start = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '')?.[1];
        if (start !== undefined && Number(start) !== offset) {
          res.body.destroy();
          throw new BerthError('unavailable', `asked for bytes from ${offset}, the registry sent from ${start}`);
        }
      }
      return res.body;
    } catch (err) {
      throw context(`cannot fetch blob ${this.host}/${repo}@${desc.digest}`, err);
    }
  }

  /** A small blob (an image config) whole, checked against its descriptor. */
  async fetchBlobBuffer(repo: string, desc: Descriptor, limit = MAX_MANIFEST_BYTES): Promise<Buffer> {
    const what = `cannot fetch blob ${this.host}/${repo}@${desc.digest}`;
    try {
      if (desc.size > limit) throw new BerthError('failed-precondition', `blob is ${desc.size} bytes, more than the ${limit} allowed`);
      const res = await this.request({ method: 'GET', target: `/v2/${repo}/blobs/${desc.digest}`, scopes: [pullScope(repo)], ok: [200], retry: true });
      const body = await readBody(res, limit, 'blob');
      verifyDigest(body, desc.digest, 'blob');
      if (body.length !== desc.size) throw new BerthError('failed-precondition', `blob is ${body.length} bytes, the descriptor says ${desc.size}`);
      return body;
    } catch (err) {
      throw context(what, err);
    }
  }

  // ---- pushing ----

  /** Whether the repository already has the blob (HEAD). */
  async blobExists(repo: string, desc: Descriptor): Promise<boolean> {
    try {
      const res = await this.request({ method: 'HEAD', target: `/v2/${repo}/blobs/${desc.digest}`, scopes: [pushScope(repo)], ok: [200, 404], retry: true });
      res.body.resume();
      return res.status === 200;
    } catch (err) {
      throw context(`cannot check blob ${this.host}/${repo}@${desc.digest}`, err);
    }
  }

  /**
   * Mounts a blob from another repository of the same registry (no bytes
   * sent). False when the registry declines (it then opened an upload, which
   * is cancelled here) so the caller uploads instead.
   */
  async mountBlob(repo: string, desc: Descriptor, fromRepo: string): Promise<boolean> {
    try {
      const target = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepo)}`;
      const res = await this.request({ method: 'POST', target, scopes: [pushScope(repo), pullScope(fromRepo)], ok: [201, 202], retry: false });
      res.body.resume();
      if (res.status === 201) return true;
      const location = header(res, 'location');
      if (location) {
        await this.request({ method: 'DELETE', target: new URL(location, res.url), scopes: [pushScope(repo)], ok: [204, 404], retry: false })
          .then((r) => r.body.resume(), () => undefined);
      }
      return false;
    } catch (err) {
      throw context(`cannot mount blob ${desc.digest} from ${this.host}/${fromRepo} into ${repo}`, err);
    }
  }

  /**
   * Uploads a blob: one PUT (after the POST that opens the upload) up to the
   * chunk threshold, PATCHed chunks with Content-Range above it, closed by a
   * PUT with the digest. The registry checks the digest.
   */
  async pushBlob(repo: string, desc: Descriptor, source: BlobSource): Promise<void> {
    try {
      algorithmOf(desc.digest);
      const opened = await this.request({ method: 'POST', target: `/v2/${repo}/blobs/uploads/`, scopes: [pushScope(repo)], ok: [202], retry: false });
      opened.body.resume();
      const location = this.uploadLocation(opened);
      if (desc.size > this.chunkThreshold) await this.pushChunks(repo, desc, source, location);
      else await this.putUpload(repo, desc, location, source);
    } catch (err) {
      throw context(`cannot push blob ${this.host}/${repo}@${desc.digest}`, err);
    }
  }

  private uploadLocation(res: HttpResponse): URL {
    const location = header(res, 'location');
    if (!location) throw new BerthError('unavailable', `${this.host} opened an upload without a location`);
    return new URL(location, res.url);
  }

  private async putUpload(repo: string, desc: Descriptor, location: URL, source: BlobSource | undefined): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const body: Buffer | (() => Readable) = source === undefined ? Buffer.alloc(0) : Buffer.isBuffer(source) ? source : () => source(0);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (!Buffer.isBuffer(body)) headers['content-length'] = String(desc.size);
    const res = await this.request({ method: 'PUT', target: url, scopes: [pushScope(repo)], ok: [201], headers, body, retry: false });
    res.body.resume();
  }

  private async pushChunks(repo: string, desc: Descriptor, source: BlobSource, first: URL): Promise<void> {
    let location = first;
    let offset = 0;
    const stream = Buffer.isBuffer(source) ? Readable.from([source]) : source(0);
    for await (const chunk of rechunk(stream, this.chunkSize)) {
      const res = await this.request({
        method: 'PATCH', target: location, scopes: [pushScope(repo)], ok: [202], body: chunk, retry: false,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
      });
      res.body.resume();
      location = this.uploadLocation(res);
      offset += chunk.length;
    }
    if (offset !== desc.size) throw new BerthError('failed-precondition', `source gave ${offset} bytes, the descriptor says ${desc.size}`);
    await this.putUpload(repo, desc, location, undefined);
  }

  /** Puts a manifest or index under a tag or its digest; returns its digest (checked against the registry's). */
  async putManifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const what = `cannot push manifest ${this.host}/${repo}${reference.includes(':') ? '@' : ':'}${reference}`;
    try {
      if (body.length > MAX_MANIFEST_BYTES) throw new BerthError('invalid-argument', `manifest is ${body.length} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
      const digest = reference.includes(':') ? reference : digestOf(body);
      if (reference.includes(':')) verifyDigest(body, reference, 'manifest');
      const res = await this.request({ method: 'PUT', target: this.manifestPath(repo, reference), scopes: [pushScope(repo)], ok: [201], headers: { 'content-type': mediaType }, body, retry: true });
      res.body.resume();
      const claimed = header(res, 'docker-content-digest');
      if (claimed && claimed !== digest) throw new BerthError('failed-precondition', `the registry stored digest ${claimed}, expected ${digest}`);
      return digest;
    } catch (err) {
      throw context(what, err);
    }
  }

  // ---- the exchange ----

  private urlFor(target: string | URL, scheme: 'https' | 'http'): URL {
    return typeof target === 'string' ? new URL(`${scheme}://${this.host}${target}`) : target;
  }

  /** One send with the scheme settled: https, or http when an insecure registry does not speak TLS. */
  private async sendOnce(call: Call, auth: string | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...call.headers };
    if (auth) headers.authorization = auth;
    const body = typeof call.body === 'function' ? call.body() : call.body;
    const go = (scheme: 'https' | 'http'): Promise<HttpResponse> =>
      send({ method: call.method, url: this.urlFor(call.target, scheme), headers, body, timeoutMs: this.timeoutMs }, this.agents);
    if (this.scheme || typeof call.target !== 'string') return go(this.scheme ?? 'https');
    try {
      const res = await go('https');
      this.scheme = 'https';
      return res;
    } catch (err) {
      if (!this.insecure || !isTlsFailure(err) || (body !== undefined && !Buffer.isBuffer(body))) throw err;
      const res = await go('http');
      this.scheme = 'http';
      return res;
    }
  }

  /** Sends with the known authorization; a 401 is answered once. */
  private async exchange(call: Call): Promise<HttpResponse> {
    const auth = await this.authorizer.header(call.scopes);
    const res = await this.sendOnce(call, auth);
    if (res.status !== 401) return res;
    const challenge = res.headers['www-authenticate'];
    if (!challenge) return res;
    let fresh: string;
    try {
      fresh = await this.authorizer.answer(parseChallenges(challenge), call.scopes, auth);
    } catch (err) {
      res.body.destroy();
      throw err;
    }
    if (fresh === auth) return res; // the same credentials again: request() reports the registry's refusal
    res.body.resume();
    return this.sendOnce(call, fresh);
  }

  private async request(call: Call): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const last = !call.retry || attempt >= this.attempts;
      let res: HttpResponse;
      try {
        res = await this.exchange(call);
      } catch (err) {
        if (last || !isRetryable(err)) throw err;
        await sleep(Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1)));
        continue;
      }
      if (call.ok.includes(res.status)) return res;
      const body = call.method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, MAX_ERROR_BODY, 'error').catch(() => Buffer.alloc(0));
      const error = registryError(this.host, res.status, body);
      if (last || error.kind !== 'unavailable') throw error;
      await sleep(Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1)));
    }
  }
}
