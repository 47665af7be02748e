/**
 * The planner's side of one conversation with the C front (see
 * `plan/format.ts`). The front speaks first with REQUEST; afterwards the
 * planner drives: it may ask for stdin, hand over a plan, resume the child
 * at its sync points, wait for it, and finally tell the front how to exit.
 */
import type { Socket } from 'node:net';
import { MessageType } from '../plan/format.js';
import { FrameReader, decodeMessage, encodeMessage, encodePlanMessage, type DecodedMessage, type MessageEntry, type PlanEntry } from '../plan/wire.js';
import { BerthError } from '../../common/errors.js';

export interface Request {
  argv: string[];
  cwd: string;
  stdinIsTty: boolean;
  frontPid: number;
  env: Record<string, string>;
}

/** What the child reported after CONTINUE. */
export type ChildEvent =
  | { kind: 'hook'; point: number }
  | { kind: 'ready' }
  | { kind: 'failed'; step: string; errno: number; message: string };

/** A set-up failure reported by the executor. */
export class ExecutorError extends BerthError {
  readonly step: string;
  readonly code: number;
  constructor(step: string, errno: number, message: string) {
    super('internal', `${step}: ${message || errnoText(errno)}`);
    this.step = step;
    this.code = errno;
  }
}

const errnoNames: Record<number, string> = {
  1: 'operation not permitted', 2: 'no such file or directory', 3: 'no such process', 5: 'input/output error',
  7: 'argument list too long', 8: 'exec format error', 9: 'bad file descriptor', 11: 'resource temporarily unavailable',
  12: 'cannot allocate memory', 13: 'permission denied', 16: 'device or resource busy', 17: 'file exists',
  18: 'invalid cross-device link', 20: 'not a directory', 21: 'is a directory', 22: 'invalid argument',
  24: 'too many open files', 26: 'text file busy', 28: 'no space left on device', 30: 'read-only file system',
  36: 'file name too long', 38: 'function not implemented', 40: 'too many levels of symbolic links',
  95: 'operation not supported', 110: 'connection timed out', 111: 'connection refused',
};
export function errnoText(errno: number): string {
  return errnoNames[errno] ?? (errno ? `errno ${errno}` : 'failed');
}

function field<T>(m: DecodedMessage, type: MessageEntry['type']): T | undefined {
  const r = m.records.find((x) => x.type === type);
  return r ? (r.value as unknown as T) : undefined;
}

export class Conversation {
  private readonly reader = new FrameReader();
  private readonly queue: DecodedMessage[] = [];
  private waiter: ((m: DecodedMessage | null) => void) | undefined;
  private closed = false;
  readonly closedSignal: AbortSignal;
  private readonly abort = new AbortController();

  constructor(private readonly sock: Socket) {
    this.closedSignal = this.abort.signal;
    sock.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try { bodies = this.reader.push(chunk); } catch { sock.destroy(); return; }
      for (const b of bodies) {
        let m: DecodedMessage;
        try { m = decodeMessage(b); } catch { sock.destroy(); return; }
        if (this.waiter) { const w = this.waiter; this.waiter = undefined; w(m); } else this.queue.push(m);
      }
    });
    const end = (): void => {
      if (this.closed) return;
      this.closed = true;
      this.abort.abort();
      if (this.waiter) { const w = this.waiter; this.waiter = undefined; w(null); }
    };
    sock.on('close', end);
    sock.on('end', end);
    sock.on('error', end);
  }

  /** The next message from the front; throws when the front went away. */
  next(): Promise<DecodedMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.reject(new BerthError('unavailable', 'the caller went away'));
    return new Promise((resolve, reject) => {
      this.waiter = (msg) => (msg ? resolve(msg) : reject(new BerthError('unavailable', 'the caller went away')));
    });
  }

  async request(): Promise<Request> {
    const m = await this.next();
    if (m.type !== MessageType.REQUEST) throw new BerthError('invalid-argument', `expected REQUEST, got message ${m.type}`);
    const req: Request = { argv: [], cwd: '/', stdinIsTty: false, frontPid: 0, env: {} };
    for (const r of m.records) {
      const v = r.value as Record<string, unknown>;
      switch (r.type) {
        case 'ARG': req.argv.push(v.value as string); break;
        case 'CWD': req.cwd = v.path as string; break;
        case 'STDIN_TTY': req.stdinIsTty = v.isTty === 1; break;
        case 'FRONT_PID': req.frontPid = v.pid as number; break;
        case 'ENV': {
          const s = v.value as string;
          const i = s.indexOf('=');
          if (i > 0) req.env[s.slice(0, i)] = s.slice(i + 1);
          break;
        }
        default: break;
      }
    }
    return req;
  }

  send(type: number, records: MessageEntry[] = []): void {
    if (!this.closed) this.sock.write(encodeMessage(type, records));
  }

  output(fd: 1 | 2, data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // keep frames modest so a large `ps` or `events` stream does not build one huge buffer
    for (let off = 0; off < bytes.length || off === 0; off += 1 << 20) {
      this.send(MessageType.OUTPUT, [{ type: 'FD', value: { fd } }, { type: 'DATA', value: { data: bytes.subarray(off, off + (1 << 20)) } }]);
      if (bytes.length === 0) break;
    }
  }

  exit(code: number): void {
    this.send(MessageType.EXIT, [{ type: 'CODE', value: { code } }]);
    this.sock.end();
  }

  async readStdin(): Promise<Buffer> {
    this.send(MessageType.NEED_STDIN);
    const chunks: Buffer[] = [];
    for (;;) {
      const m = await this.next();
      if (m.type !== MessageType.STDIN) throw new BerthError('internal', `expected STDIN, got message ${m.type}`);
      const d = field<{ data: Buffer }>(m, 'DATA');
      if (!d || d.data.length === 0) break;
      chunks.push(d.data);
    }
    return Buffer.concat(chunks);
  }

  /** Hands a plan to the front; resolves with the host pid of the new process. */
  async execute(plan: PlanEntry[]): Promise<number> {
    this.sock.write(encodePlanMessage(MessageType.EXECUTE, plan));
    const m = await this.next();
    if (m.type === MessageType.CHILD) return field<{ pid: number }>(m, 'PID')!.pid;
    throw this.failure(m);
  }

  /** Resumes the child and reports where it stopped next. */
  async resume(): Promise<ChildEvent> {
    this.send(MessageType.CONTINUE);
    const m = await this.next();
    if (m.type === MessageType.HOOK) return { kind: 'hook', point: field<{ point: number }>(m, 'HOOK_POINT')!.point };
    if (m.type === MessageType.READY) return { kind: 'ready' };
    if (m.type === MessageType.FAILED) {
      return {
        kind: 'failed',
        step: field<{ step: string }>(m, 'STEP')?.step ?? 'set-up',
        errno: field<{ errno: number }>(m, 'ERRNO')?.errno ?? 0,
        message: field<{ message: string }>(m, 'MESSAGE')?.message ?? '',
      };
    }
    throw new BerthError('internal', `unexpected message ${m.type} from the front`);
  }

  /** Kills the child before it is ready (a planner-side step failed). */
  async abortChild(): Promise<void> {
    this.send(MessageType.ABORT);
    try { await this.next(); } catch { /* the front may be gone already */ }
  }

  /** Waits in the front for the child's exit; resolves with the raw wait status. */
  async waitChild(): Promise<number> {
    this.send(MessageType.WAIT);
    const m = await this.next();
    if (m.type === MessageType.EXITED) return field<{ status: number }>(m, 'STATUS')!.status;
    throw this.failure(m);
  }

  private failure(m: DecodedMessage): Error {
    if (m.type === MessageType.FAILED) {
      return new ExecutorError(
        field<{ step: string }>(m, 'STEP')?.step ?? 'set-up',
        field<{ errno: number }>(m, 'ERRNO')?.errno ?? 0,
        field<{ message: string }>(m, 'MESSAGE')?.message ?? '',
      );
    }
    return new BerthError('internal', `unexpected message ${m.type} from the front`);
  }
}

/** Exit code of a raw wait status, as a shell reports it. */
export function exitCodeOfStatus(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff;
  return 128 + sig;
}
