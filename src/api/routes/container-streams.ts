/**
 * Container streams and files: attach (hijacked), logs, exec
 * create/start/resize/inspect, resize, top, stats, archive HEAD/GET/PUT
 * (`docker cp`), export and changes — Docker's shapes and statuses.
 * Without a TTY output is stdcopy-framed; with one it is raw bytes.
 */
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { invalidArgument } from '../../common/errors.js';
import type { AttachedProcess, ContainerStreamsBackend, LogRecord, OutputChunk, OutputConnection, PathStat } from '../backend.js';
import { readJsonObject, sendJson, type RequestContext } from '../context.js';
import { checkShape, EXEC_CREATE } from '../shapes.js';
import { hijack, MULTIPLEXED_STREAM, RAW_STREAM, readUpgradedJsonObject } from '../hijack.js';
import { boolParam, intParam, timestampParam } from '../query.js';
import type { Route } from '../router.js';
import { encodeFrames, HEADER_SIZE, STDERR, STDOUT, SYSTEMERR } from '../stdcopy.js';
import { startJsonStream } from '../stream.js';
import { DetachScanner, parseDetachKeys } from './container-detach.js';
import { socketFd } from '../../common/socket-fd.js';

/**
 * A chunk as the pieces to write: the bytes themselves with a TTY, else
 * stdcopy headers (frames of at most 32 KiB, as docker's writer) each
 * followed by a view of the payload — no copy of the payload.
 */
function frame(tty: boolean, c: OutputChunk): Buffer[] {
  if (tty) return [c.data];
  if (c.data.length <= OUT_FRAME) return [encodeFrames(c.stream === 'stderr' ? STDERR : STDOUT, c.data)];
  const parts: Buffer[] = [];
  for (let at = 0; at < c.data.length; at += OUT_FRAME) {
    const end = Math.min(at + OUT_FRAME, c.data.length);
    const h = Buffer.alloc(HEADER_SIZE);
    h[0] = c.stream === 'stderr' ? STDERR : STDOUT;
    h.writeUInt32BE(end - at, 4);
    parts.push(h, c.data.subarray(at, end));
  }
  return parts;
}

const OUT_FRAME = 32 * 1024;

function writeWait(socket: Duplex, parts: Buffer[]): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.resolve();
  // corked: the pieces of a chunk leave in one writev
  socket.cork();
  let ok = true;
  for (const p of parts) ok = socket.write(p);
  socket.uncork();
  if (ok) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => { socket.off('drain', done); socket.off('close', done); resolve(); };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/**
 * Serves an attached process on a hijacked connection: output out (framed
 * unless TTY), input in (detach keys watched), the connection ended when
 * the output ends (after the exit is recorded) or the client detaches.
 */
async function serveSession(ctx: RequestContext, p: AttachedProcess, withInput: boolean): Promise<void> {
  const { socket, headSent } = hijack(ctx, p.tty ? RAW_STREAM : MULTIPLEXED_STREAM);
  const { session } = p;
  if (session.offerOutput) offerConnection(socket, headSent, p.tty, session.offerOutput.bind(session));
  let detached = false;
  if (withInput) {
    const scanner = new DetachScanner(parseDetachKeys(p.detachKeys));
    socket.on('data', (chunk: Buffer) => {
      if (detached) return;
      const { pass, detach } = scanner.feed(chunk);
      if (pass.length > 0) {
        socket.pause();
        void session.write(pass).catch(() => undefined).finally(() => socket.resume());
      }
      if (detach) { detached = true; session.close(); }
    });
    socket.on('end', () => { if (!detached && p.closeStdinOnEnd) void session.closeStdin().catch(() => undefined); });
  } else {
    socket.resume(); // input is not wanted: read and dropped, so the client's end arrives
  }
  socket.on('close', () => { if (!detached) { detached = true; session.close(); } });
  try {
    for await (const c of session) await writeWait(socket, frame(p.tty, c));
    await session.exit.catch(() => undefined);
  } catch (err) {
    ctx.log.debug('attached stream ended with an error', { error: (err as Error).message });
    // cut under the client (its source failed, not a detach): without a TTY the stream says so in a
    // system-error frame, as dockerd's do, so the client does not take what it got for the whole
    // (the docker CLI reports "error from daemon in stream"); a close alone would look like the end
    if (!detached && !p.tty && !socket.destroyed) await writeWait(socket, [encodeFrames(SYSTEMERR, `the attached stream was cut: ${(err as Error).message}`)]);
  } finally {
    if (!socket.destroyed) socket.end();
  }
}

/**
 * Offers the client's connection to the session once the response's head is
 * out (nothing of ours may follow it into the kernel after the shim's
 * bytes). A TLS connection is not offered: its bytes must be encrypted here.
 */
function offerConnection(socket: Duplex, headSent: Promise<void>, tty: boolean, offer: (t: OutputConnection) => void): void {
  if (socket instanceof TLSSocket || socketFd(socket) === undefined) return;
  void headSent.then(() => offer({ framing: tty ? 'raw' : 'stdcopy', fd: () => socketFd(socket) }));
}

async function attach(b: ContainerStreamsBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const opts = { stream: boolParam(q, 'stream'), stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'), logs: boolParam(q, 'logs') };
  const p = await b.attach(ctx.params.id!, opts, ctx.signal);
  const keys = q.get('detachKeys');
  if (keys !== null && keys !== '') { parseDetachKeys(keys); p.detachKeys = keys; }
  await serveSession(ctx, p, opts.stdin);
}

/** Frames at most this long: what docker's own writer sends, so no reader buffers more. */
const LOG_FRAME = 32 * 1024;

/**
 * A batch of log records as one buffer (one copy): each record's bytes
 * behind stdcopy headers (raw with a TTY). Records are runs of entries of
 * one stream, so a block of a big log is a few frames, not one per line.
 */
function logBuffer(tty: boolean, batch: LogRecord[]): Buffer {
  let size = 0;
  for (const r of batch) size += r.data.length + (tty ? 0 : HEADER_SIZE * Math.ceil(r.data.length / LOG_FRAME));
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const r of batch) {
    for (let at = 0; at < r.data.length; at += LOG_FRAME) {
      const end = Math.min(at + LOG_FRAME, r.data.length);
      if (!tty) {
        out.writeUInt32BE(0, o);
        out[o] = r.stream === 'stderr' ? STDERR : STDOUT;
        out.writeUInt32BE(end - at, o + 4);
        o += HEADER_SIZE;
      }
      o += r.data.copy(out, o, at, end);
    }
  }
  return out;
}

async function logs(b: ContainerStreamsBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const stdout = boolParam(q, 'stdout');
  const stderr = boolParam(q, 'stderr');
  if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
  const tailText = q.get('tail') ?? 'all';
  let tail: number | undefined;
  if (tailText !== 'all' && tailText !== '') {
    if (!/^-?[0-9]+$/.test(tailText)) throw invalidArgument(`invalid value for tail: ${JSON.stringify(tailText)}`);
    tail = Number(tailText) < 0 ? undefined : Number(tailText);
  }
  const sinceNs = timestampParam(q, 'since');
  const untilNs = timestampParam(q, 'until');
  const timestamps = boolParam(q, 'timestamps');
  // --details: dockerd puts each entry's attributes (from --log-opt labels/env; none here, so
  // empty) and a space before the entry's text, after its timestamp when there is one
  const details = boolParam(q, 'details');
  const withDetails = (data: Buffer): Buffer => {
    const parts: Buffer[] = [];
    for (let at = 0; at < data.length;) {
      const nl = data.indexOf(0x0a, at);
      const end = nl < 0 ? data.length : nl + 1;
      const sp = timestamps ? data.indexOf(0x20, at) : -1;
      const cut = sp >= 0 && sp < end ? sp + 1 : at;
      parts.push(data.subarray(at, cut), Buffer.from(' '), data.subarray(cut, end));
      at = end;
    }
    return Buffer.concat(parts);
  };
  const { tty, records } = await b.logs(ctx.params.id!, {
    follow: boolParam(q, 'follow'), stdout, stderr, tail, timestamps,
    sinceNs: sinceNs !== undefined && sinceNs > 0n ? sinceNs : undefined, untilNs: untilNs !== undefined && untilNs > 0n ? untilNs : undefined,
  }, ctx.signal);
  const res = ctx.res;
  res.writeHead(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM });
  res.flushHeaders();
  for await (const batch of records) {
    if (res.destroyed) break;
    // one write per block of entries: a big log streams at disk speed
    if (batch.length === 0) continue;
    if (!res.write(logBuffer(tty, details ? batch.map((r) => ({ ...r, data: withDetails(r.data) })) : batch))) {
      await new Promise<void>((resolve) => {
        const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

function size(ctx: RequestContext): { h: number; w: number } {
  return { h: intParam(ctx.query, 'h', 0), w: intParam(ctx.query, 'w', 0) };
}

function pathParam(ctx: RequestContext): string {
  const p = ctx.query.get('path');
  if (p === null || p === '') throw invalidArgument('Bad parameter: path cannot be empty');
  return p;
}

function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

async function* body(ctx: RequestContext): AsyncGenerator<Buffer> {
  for await (const c of ctx.req) yield c as Buffer;
}

async function stats(b: ContainerStreamsBackend, ctx: RequestContext): Promise<void> {
  const stream = boolParam(ctx.query, 'stream', true);
  const oneShot = boolParam(ctx.query, 'one-shot');
  if (oneShot && stream) throw invalidArgument('cannot have stream=true and one-shot=true');
  const docs = b.stats(ctx.params.id!, { stream, oneShot }, ctx.signal);
  const it = docs[Symbol.asyncIterator]();
  // the first document (or the error of an unknown container) comes before the headers
  const first = await it.next();
  const out = startJsonStream(ctx.res);
  if (!first.done) await out.write(first.value);
  while (stream && !out.closed) {
    const n = await it.next();
    if (n.done) break;
    await out.write(n.value);
  }
  await it.return?.(undefined);
  out.end();
}

export function containerStreamRoutes(b: ContainerStreamsBackend): Route[] {
  return [
    { method: 'POST', path: '/containers/{id}/attach', handler: (ctx) => attach(b, ctx) },
    { method: 'GET', path: '/containers/{id}/logs', handler: (ctx) => logs(b, ctx) },
    {
      method: 'POST', path: '/containers/{id}/resize', handler: async (ctx) => {
        const { h, w } = size(ctx);
        await b.resize(ctx.params.id!, h, w);
        ctx.res.writeHead(200, { 'Content-Length': 0 });
        ctx.res.end();
      },
    },
    {
      method: 'POST', path: '/containers/{id}/exec', handler: async (ctx) => {
        const cfg = await readJsonObject(ctx.req, 'the exec config');
        if (cfg === undefined) throw invalidArgument('exec config cannot be empty');
        checkShape(cfg, EXEC_CREATE);
        sendJson(ctx.res, 201, await b.execCreate(ctx.params.id!, cfg));
      },
    },
    {
      method: 'POST', path: '/exec/{id}/start', handler: async (ctx) => {
        // an upgraded request's body is not parsed by Node: it arrives ahead of the stream's input
        const cfg = (ctx.upgrade ? await readUpgradedJsonObject(ctx, 'the exec start config') : await readJsonObject(ctx.req, 'the exec start config')) ?? {};
        const p = await b.execStart(ctx.params.id!, { detach: cfg.Detach === true, tty: cfg.Tty === true });
        if (p === undefined) {
          ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 0 });
          ctx.res.end();
          return;
        }
        await serveSession(ctx, p, true);
      },
    },
    {
      method: 'POST', path: '/exec/{id}/resize', handler: async (ctx) => {
        const { h, w } = size(ctx);
        await b.execResize(ctx.params.id!, h, w);
        ctx.res.writeHead(200, { 'Content-Length': 0 });
        ctx.res.end();
      },
    },
    { method: 'GET', path: '/exec/{id}/json', handler: async (ctx) => { sendJson(ctx.res, 200, await b.execInspect(ctx.params.id!)); } },
    {
      method: 'GET', path: '/containers/{id}/top', handler: async (ctx) => {
        sendJson(ctx.res, 200, await b.top(ctx.params.id!, ctx.query.get('ps_args') ?? ''));
      },
    },
    { method: 'GET', path: '/containers/{id}/stats', handler: (ctx) => stats(b, ctx) },
    {
      method: 'HEAD', path: '/containers/{id}/archive', handler: async (ctx) => {
        const stat = await b.statPath(ctx.params.id!, pathParam(ctx));
        ctx.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(stat), 'Content-Type': 'application/json' });
        ctx.res.end();
      },
    },
    {
      method: 'GET', path: '/containers/{id}/archive', handler: async (ctx) => {
        await b.getArchive(ctx.params.id!, pathParam(ctx), async (stat, tar) => {
          ctx.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(stat), 'Content-Type': 'application/x-tar' });
          for await (const c of tar) {
            if (!ctx.res.write(c as Buffer)) await new Promise<void>((r) => { ctx.res.once('drain', r); ctx.res.once('close', r); });
            if (ctx.res.destroyed) break;
          }
          ctx.res.end();
        });
      },
    },
    {
      method: 'PUT', path: '/containers/{id}/archive', handler: async (ctx) => {
        await b.putArchive(ctx.params.id!, pathParam(ctx), body(ctx), {
          noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'), copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
        });
        ctx.res.writeHead(200, { 'Content-Length': 0 });
        ctx.res.end();
      },
    },
    {
      method: 'GET', path: '/containers/{id}/export', handler: async (ctx) => {
        const tar = await b.exportContainer(ctx.params.id!);
        ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        for await (const c of tar) {
          if (!ctx.res.write(c as Buffer)) await new Promise<void>((r) => { ctx.res.once('drain', r); ctx.res.once('close', r); });
          if (ctx.res.destroyed) break;
        }
        ctx.res.end();
      },
    },
    { method: 'GET', path: '/containers/{id}/changes', handler: async (ctx) => { sendJson(ctx.res, 200, await b.changes(ctx.params.id!)); } },
  ];
}
