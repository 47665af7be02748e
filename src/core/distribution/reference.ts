/**
 * Image references, parsed and normalised the way Docker does:
 *   nginx                 → docker.io/library/nginx:latest
 *   user/app              → docker.io/user/app:latest
 *   host:5000/a/b:tag     → host:5000/a/b:tag
 *   name@sha256:…         → docker.io/library/name@sha256:…
 *   name:tag@sha256:…     → both kept; the digest decides what is fetched
 * The first path component is a registry host when it has a dot or a colon,
 * is `localhost`, or has uppercase letters (a repository never does).
 */
import { invalidArgument } from '../../common/errors.js';

/** The registry that short names mean. */
export const DOCKER_HUB_DOMAIN = 'docker.io';
/** The host that actually serves docker.io's registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** Docker's legacy spelling of the hub domain, folded into docker.io. */
const LEGACY_HUB_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

export interface Reference {
  /** registry host, with port when given: "docker.io", "127.0.0.1:5000" */
  domain: string;
  /** repository path inside the registry: "library/nginx" */
  path: string;
  tag?: string;
  digest?: string;
}

// The grammar of Docker's reference package, written from its documentation.
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;

function bad(input: string, why: string): never {
  throw invalidArgument(`invalid reference ${JSON.stringify(input)}: ${why}`);
}

/** Checks a digest string ("sha256:<64 hex>", "sha512:<128 hex>"); returns it. */
export function validateDigest(digest: string, input = digest): string {
  if (!DIGEST.test(digest)) bad(input, `invalid digest ${JSON.stringify(digest)}`);
  const [alg, hex] = digest.split(':') as [string, string];
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  const want = lengths[alg];
  if (want === undefined) bad(input, `unsupported digest algorithm ${alg}`);
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) bad(input, `invalid ${alg} digest ${JSON.stringify(digest)}`);
  return digest;
}

function validDomain(domain: string): boolean {
  // [v6]:port or host(.host)*(:port)
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::([0-9]+))?$/.exec(domain);
  if (v6) return true;
  const colon = domain.lastIndexOf(':');
  const host = colon >= 0 ? domain.slice(0, colon) : domain;
  if (colon >= 0 && !PORT.test(domain.slice(colon + 1))) return false;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Splits "name[:tag][@digest]" into its parts, without normalising. */
function splitTagDigest(input: string): { name: string; tag?: string; digest?: string } {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = validateDigest(rest.slice(at + 1), input);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) bad(input, `invalid tag ${JSON.stringify(tag)}`);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const isHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let domain = isHost ? first : DOCKER_HUB_DOMAIN;
  let path = isHost ? name.slice(slash + 1) : name;
  if (domain === LEGACY_HUB_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/**
 * Parses a reference as a person types it and normalises it; adds the
 * `latest` tag when neither tag nor digest is given (`defaultTag: false` to
 * keep a bare name, as `docker pull --all-tags` would).
 */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): Reference {
  if (input === '') bad(input, 'empty reference');
  if (HEX64.test(input)) bad(input, 'cannot specify 64-byte hexadecimal strings');
  if (/\s/.test(input)) bad(input, 'contains whitespace');
  const { name, tag, digest } = splitTagDigest(input);
  if (name === '') bad(input, 'missing repository name');
  const { domain, path } = splitDomain(name);
  if (!validDomain(domain)) bad(input, `invalid registry host ${JSON.stringify(domain)}`);
  const components = path.split('/');
  for (const c of components) {
    if (c !== c.toLowerCase()) bad(input, 'repository name must be lowercase');
    if (!PATH_COMPONENT.test(c)) bad(input, `invalid repository name component ${JSON.stringify(c)}`);
  }
  if (domain.length + 1 + path.length > MAX_NAME) bad(input, `repository name longer than ${MAX_NAME} characters`);
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return ref;
}

/** "docker.io/library/nginx" */
export function fullName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The normalised string: "docker.io/library/nginx:latest", "h:5000/a@sha256:…". */
export function formatReference(ref: Reference): string {
  return fullName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The short name people type: "nginx", "user/app", "h:5000/a/b". */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return fullName(ref);
  return ref.path.startsWith(OFFICIAL_PREFIX) && ref.path.split('/').length === 2 ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
}

/** The short form with tag and digest: "nginx:latest", "user/app@sha256:…". */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** What to ask the registry for: the digest when known, else the tag. */
export function manifestSelector(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The host that serves a domain's registry API (docker.io's is elsewhere). */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}
