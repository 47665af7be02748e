/**
 * `berth build [OPTIONS] PATH | -`: the classic builder's client, as the
 * docker CLI drives it with DOCKER_BUILDKIT=0 — the context tarred here
 * (build-context.ts, .dockerignore applied), sent to POST /build with the
 * docker CLI's query parameters, X-Registry-Config (every stored login) and
 * Content-Type application/x-tar; "Sending build context to Docker daemon"
 * with its size, then the daemon's stream. A build error goes to stderr and
 * the exit code is the failed RUN's (1 otherwise). `-q` prints only the
 * image ID (all output goes to stderr when the build fails); `--iidfile`
 * gets the ID.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { decodeAuthEntry, dockerConfigPath, readDockerConfig } from '../../common/docker-config.js';
import {
  contextDir, contextEntries, dockerfileRelPath, isArchive, isLocalDir, isURL, outsideContext, packDirectory, packDockerfile,
  randomDockerfileName, readExcludes,
} from '../build-context.js';
import { CliError, help, type CommandSpec } from '../command.js';
import { keepBuildFiles } from '../../common/dockerignore.js';
import { humanSize4 } from '../format/units.js';
import { ProgressDisplay, type JsonMessage } from '../progress.js';

/** What is sent: the tar and the Dockerfile's name in it. */
interface Context { body: AsyncIterable<Buffer>; dockerfile: string }

/** Go's url.QueryEscape: only unreserved characters stay, a space is "+". */
const queryEscape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');

/** Go's json.Marshal of a string map: keys sorted, <, > and & escaped. */
function goJson(m: Record<string, string | null>): string {
  const sorted = Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
  return JSON.stringify(sorted).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** --build-arg: K=V as given, a bare K takes the environment's value (null when unset). */
export function buildArgs(values: string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const k = eq < 0 ? v : v.slice(0, eq);
    if (k === '') throw new CliError(`invalid argument "${v}" for "--build-arg" flag: invalid environment variable: ${v}\nSee 'berth build --help'.`, 125);
    out[k] = eq >= 0 ? v.slice(eq + 1) : env[k] ?? null;
  }
  return out;
}

/** --label: K=V, a bare K is an empty label. */
function labels(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((v) => { const eq = v.indexOf('='); return eq < 0 ? [v, ''] : [v.slice(0, eq), v.slice(eq + 1)]; }));
}

/** The query string, as the docker CLI sends it: only what differs from the defaults, keys sorted. */
export function buildQuery(o: {
  tags: string[]; dockerfile: string; buildArgs: Record<string, string | null>; labels: Record<string, string>; target: string;
  noCache: boolean; rm: boolean; forceRm: boolean; pull: boolean; quiet: boolean; network: string; platform: string;
}): string {
  const q: [string, string][] = [];
  if (Object.keys(o.buildArgs).length > 0) q.push(['buildargs', goJson(o.buildArgs)]);
  if (o.dockerfile !== '') q.push(['dockerfile', o.dockerfile]);
  if (o.forceRm) q.push(['forcerm', '1']);
  if (Object.keys(o.labels).length > 0) q.push(['labels', goJson(o.labels)]);
  if (o.network !== '' && o.network !== 'default') q.push(['networkmode', o.network]);
  if (o.noCache) q.push(['nocache', '1']);
  if (o.platform !== '') q.push(['platform', o.platform.toLowerCase()]);
  if (o.pull) q.push(['pull', '1']);
  if (o.quiet) q.push(['q', '1']);
  if (!o.rm) q.push(['rm', '0']);
  for (const t of o.tags) q.push(['t', t]);
  if (o.target !== '') q.push(['target', o.target]);
  q.push(['version', '1']);
  return q.map(([k, v]) => `${k}=${queryEscape(v)}`).join('&');
}

/** X-Registry-Config: every stored login, by registry, in URL-safe base64 (Go's base64.URLEncoding). */
export function registryConfig(env: NodeJS.ProcessEnv): string {
  const path = dockerConfigPath(env);
  const all: Record<string, { username: string; password: string; serveraddress: string }> = {};
  for (const [key, entry] of Object.entries(readDockerConfig(path).auths ?? {})) {
    const c = decodeAuthEntry(entry, key, path);
    if (c) all[key] = { username: c.username, password: c.password, serveraddress: key };
  }
  return Buffer.from(JSON.stringify(all)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Stdin as the context: a tar passed on as it is, else a Dockerfile tarred alone. */
async function stdinContext(dockerfile: string): Promise<Context> {
  const it = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 1024 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else head = Buffer.concat([head, r.value]);
  }
  const rest = async function* (): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    while (!done) { const r = await it.next(); if (r.done) return; yield r.value; }
  };
  if (isArchive(head)) return { body: rest(), dockerfile };
  if (dockerfile !== '') throw new CliError('unable to prepare context: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
  return { body: await packDockerfile(await readAll(rest())), dockerfile: 'Dockerfile' };
}

/** A directory as the context, .dockerignore applied; a Dockerfile from stdin or outside it added under a random name. */
async function directoryContext(dir: string, file: string): Promise<Context> {
  const ctxDir = contextDir(dir);
  const rel = dockerfileRelPath(ctxDir, file);
  let extra: Buffer | undefined;
  if (rel === '-') extra = await readAll(process.stdin as AsyncIterable<Buffer>);
  else if (outsideContext(rel)) {
    try { extra = readFileSync(file); } catch (e) { throw new CliError(`unable to open Dockerfile: ${(e as Error).message}`); }
  }
  const excludes = keepBuildFiles(readExcludes(ctxDir), rel, rel === '-');
  const entries = contextEntries(ctxDir, excludes);
  const name = extra ? randomDockerfileName() : rel;
  return { body: await packDirectory(entries, extra ? { name, text: extra } : undefined), dockerfile: name };
}

/**
 * The body with its size counted: "Sending build context to Docker daemon"
 * once it is all sent (and every 512 kB on a terminal, rewritten in place).
 */
async function* counted(body: AsyncIterable<Buffer>, write: (t: string) => void, tty: boolean): AsyncGenerator<Buffer> {
  const line = (n: number): string => `Sending build context to Docker daemon ${humanSize4(n).padStart(8)}`;
  let n = 0;
  let shown = 0;
  for await (const c of body) {
    n += c.length;
    if (tty && n - shown > 512 * 1024) { write(`${line(n)}\r`); shown = n; }
    yield c;
  }
  write(`${line(n)}\r\r\n`);
}

/** Reads the build's JSON stream: shown as the docker CLI shows it; the image ID from `aux`; an error thrown with its code. */
async function showStream(res: AsyncIterable<unknown> & { setEncoding(e: string): void }, write: (t: string) => void, onError: () => void): Promise<string> {
  let imageId = '';
  const display = new ProgressDisplay(write, process.stdout.isTTY === true, (aux) => { if (typeof aux.ID === 'string') imageId = aux.ID; });
  let rest = '';
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    const m = JSON.parse(line) as JsonMessage & { errorDetail?: { message?: string; code?: number } };
    if (m.errorDetail !== undefined || m.error !== undefined) {
      onError();
      throw new CliError(m.errorDetail?.message ?? m.error ?? 'unknown error', m.errorDetail?.code || 1);
    }
    // build output as it comes (a RUN's partial line stays partial); pull progress through the display
    if (m.stream !== undefined && m.id === undefined && m.progress === undefined && m.progressDetail === undefined) write(m.stream);
    else display.show(m);
  };
  res.setEncoding('utf8');
  for await (const chunk of res) {
    rest += chunk as string;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) { handle(rest.slice(0, nl)); rest = rest.slice(nl + 1); }
  }
  handle(rest);
  return imageId;
}

const build: CommandSpec = {
  names: ['build', 'image build', 'builder build'], usage: 'build [OPTIONS] PATH | URL | -', summary: 'Build an image from a Dockerfile',
  minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'tag', short: 't', type: 'list' }, { name: 'file', short: 'f', type: 'string' }, { name: 'build-arg', type: 'list' },
    { name: 'target', type: 'string' }, { name: 'no-cache', type: 'bool' }, { name: 'rm', type: 'bool', def: true },
    { name: 'force-rm', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' }, { name: 'label', type: 'list' },
    { name: 'pull', type: 'bool' }, { name: 'network', type: 'string', def: 'default' }, { name: 'iidfile', type: 'string' },
    { name: 'platform', type: 'string' }, { name: 'disable-content-trust', type: 'bool', def: true }, help(),
  ],
  async run(ctx, o) {
    const specified = o.args[0]!;
    const file = o.str('file');
    const quiet = o.bool('quiet');
    const args = buildArgs(o.list('build-arg'), ctx.env);
    if (file === '-' && specified === '-') throw new CliError("invalid argument: can't use stdin for both build context and dockerfile");
    const iidfile = o.str('iidfile');
    // a stale ID file must not survive a failed build
    if (iidfile !== '') rmSync(iidfile, { force: true });
    // quiet: everything is held back, and shown on stderr only if the build fails
    let heldProgress = '';
    let held = '';
    const progress = quiet ? (t: string): void => { heldProgress += t; } : (t: string): void => ctx.out(t);
    const write = quiet ? (t: string): void => { held += t; } : (t: string): void => ctx.out(t);
    const showHeld = (): void => { if (quiet && heldProgress + held !== '') ctx.err(heldProgress + held); heldProgress = ''; held = ''; };
    let context: Context;
    if (specified === '-') context = await stdinContext(file);
    else if (isLocalDir(specified)) context = await directoryContext(specified, file);
    else if (isURL(specified)) throw new CliError(`unable to prepare context: remote contexts are not supported by berth build: ${specified}`);
    else throw new CliError(`unable to prepare context: path "${specified}" not found`);
    const query = buildQuery({
      tags: o.list('tag'), dockerfile: context.dockerfile, buildArgs: args, labels: labels(o.list('label')), target: o.str('target'),
      noCache: o.bool('no-cache'), rm: o.bool('rm'), forceRm: o.bool('force-rm'), pull: o.bool('pull'), quiet,
      network: o.str('network'), platform: o.str('platform'),
    });
    const body = Readable.from(counted(context.body, progress, process.stdout.isTTY === true && !quiet));
    let res;
    try {
      res = await ctx.client().open('POST', `/build?${query}`, {
        raw: body, headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Config': registryConfig(ctx.env) },
      });
    } catch (e) {
      showHeld();
      throw e;
    }
    let imageId = await showStream(res, write, showHeld);
    if (quiet) { ctx.out(held); imageId = held; }
    if (iidfile !== '') {
      if (imageId === '') throw new CliError(`Server did not provide an image ID. Cannot write ${iidfile}`);
      writeFileSync(iidfile, imageId, { mode: 0o666 });
    }
    return 0;
  },
};

export const buildCommands: CommandSpec[] = [build];
