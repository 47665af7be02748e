/**
 * A raw HTTP/1.1 client over berthd's unix socket: it writes exactly the
 * bytes a case gives (broken framing included), on the case's schedule,
 * and reads back the responses with their bodies — or notices that the
 * server closed the connection, or that nothing came in time.
 */
import { connect, type Socket } from 'node:net';

export type Step =
  | { write: Buffer | string }
  /** bytes written one at a time, `gapMs` apart (slow loris) */
  | { trickle: string; gapMs: number }
  | { waitMs: number }
  /** half-close: FIN after what was written */
  | { end: true }
  /** drop the connection (RST-like: destroy) */
  | { destroy: true };

export interface Response { status: number; headers: Map<string, string>; body: Buffer; complete: boolean }

export interface Outcome {
  responses: Response[];
  /** the server closed the connection */
  closed: boolean;
  /** the wait ran out before the answers (or the close) came */
  timedOut: boolean;
  /** the client dropped the connection itself */
  dropped: boolean;
  elapsedMs: number;
}

/** Parses as many whole responses as `buf` holds; a response with a 2xx/1xx/3xx head and a body still coming counts (streams). */
export function parseResponses(buf: Buffer, closed: boolean, head = false): Response[] {
  const out: Response[] = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] ([0-9]{3})/.exec(lines[0] ?? '');
    if (!m) break;
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    let bodyAt = headEnd + 4;
    const noBody = head || status === 204 || status === 304 || status === 101 || (status >= 100 && status < 200);
    if (noBody) { out.push({ status, headers, body: Buffer.alloc(0), complete: true }); at = bodyAt; continue; }
    const length = headers.get('content-length');
    if (length !== undefined) {
      const n = Number(length);
      const complete = buf.length - bodyAt >= n;
      out.push({ status, headers, body: buf.subarray(bodyAt, bodyAt + n), complete });
      if (!complete) break;
      at = bodyAt + n;
      continue;
    }
    if ((headers.get('transfer-encoding') ?? '').toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', bodyAt);
        if (lineEnd < 0) break;
        const size = Number.parseInt(buf.subarray(bodyAt, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size) || buf.length < lineEnd + 2 + size + 2) break;
        if (size === 0) { complete = true; bodyAt = lineEnd + 4; break; }
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyAt = lineEnd + 2 + size + 2;
      }
      out.push({ status, headers, body: Buffer.concat(parts), complete });
      if (!complete) break;
      at = bodyAt;
      continue;
    }
    // no length: the body runs to the close
    out.push({ status, headers, body: buf.subarray(bodyAt), complete: closed });
    break;
  }
  return out;
}

function finished(rs: Response[], expect: number): boolean {
  if (rs.length < expect) return false;
  // an error's body is needed whole; a success may be a stream that never ends
  return rs.slice(0, expect).every((r) => r.complete || r.status < 400);
}

/** Runs the steps on a fresh connection and waits for `expect` responses, the server's close, or `timeoutMs`. */
export function exchange(sock: string, steps: Step[], expect: number, timeoutMs: number, head = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s: Socket = connect(sock);
    const chunks: Buffer[] = [];
    let closed = false;
    let dropped = false;
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const responses = parseResponses(Buffer.concat(chunks), closed, head);
      s.destroy();
      resolve({ responses, closed, timedOut, dropped, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (expect > 0 && finished(parseResponses(Buffer.concat(chunks), false, head), expect)) finish(false);
    });
    s.on('error', () => { closed = true; });
    s.on('close', () => { closed = true; finish(false); });
    const run = async (): Promise<void> => {
      await new Promise<void>((r) => s.once('connect', () => r()));
      for (const step of steps) {
        if (done || s.destroyed) return;
        if ('write' in step) await new Promise<void>((r) => s.write(step.write, () => r()));
        else if ('trickle' in step) {
          for (const ch of step.trickle) {
            if (done || s.destroyed) return;
            s.write(ch);
            await new Promise((r) => setTimeout(r, step.gapMs));
          }
        } else if ('waitMs' in step) await new Promise((r) => setTimeout(r, step.waitMs));
        else if ('end' in step) s.end();
        else if ('destroy' in step) { dropped = true; finish(false); return; }
      }
      if (expect === 0) finish(false);
    };
    run().catch(() => finish(false));
  });
}
