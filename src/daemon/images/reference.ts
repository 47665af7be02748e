/**
 * Image names as Docker users write them and as the core stores them:
 * `busybox` means `docker.io/library/busybox:latest`; the daemon shows the
 * short ("familiar") form back. The core does its own parsing; this module
 * only needs the split into domain, path, tag and digest.
 */
import { invalidArgument } from '../../common/errors.js';

export interface ImageRef { domain: string; path: string; tag?: string; digest?: string }

const DEFAULT_DOMAIN = 'docker.io';
const PATH_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Parses a reference; a name without tag nor digest gets none (callers add "latest" when they mean it). */
export function parseRef(text: string): ImageRef {
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at); }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) { tag = rest.slice(colon + 1); rest = rest.slice(0, colon); }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let domain = hasDomain ? first : DEFAULT_DOMAIN;
  let path = hasDomain ? rest.slice(slash + 1) : rest;
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!PATH_RE.test(path)) throw invalidArgument(`invalid reference format: repository name (${text}) must be lowercase`);
  if (tag !== undefined && !TAG_RE.test(tag)) throw invalidArgument(`invalid reference format: tag of ${text} is invalid`);
  if (digest !== undefined && !DIGEST_RE.test(digest)) throw invalidArgument(`invalid reference format: digest of ${text} is invalid`);
  return { domain, path, tag, digest };
}

/** The repository without tag or digest, fully qualified: docker.io/library/busybox. */
export function fullRepo(r: ImageRef): string {
  return `${r.domain}/${r.path}`;
}

/** The repository as Docker shows it: busybox, user/app, 127.0.0.1:5000/x. */
export function familiarRepo(r: ImageRef): string {
  if (r.domain !== DEFAULT_DOMAIN) return fullRepo(r);
  return r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice(8) : r.path;
}

export function formatFull(r: ImageRef): string {
  return fullRepo(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

export function formatFamiliar(r: ImageRef): string {
  return familiarRepo(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** A user's name with Docker's default tag: `busybox` → docker.io/library/busybox:latest. */
export function withDefaultTag(r: ImageRef): ImageRef {
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: 'latest' } : r;
}

/** Whether text reads as an image ID or a prefix of one (sha256: optional). */
export function looksLikeId(text: string): boolean {
  return /^(sha256:)?[0-9a-f]{4,64}$/.test(text);
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The familiar name of a stored (normalised) core name; undefined for names that are no references. */
export function familiarOf(stored: string): string | undefined {
  if (/^sha256:[0-9a-f]{64}$/.test(stored)) return undefined; // an untagged image, named by its ID
  try { return formatFamiliar(parseRef(stored)); } catch { return undefined; }
}
