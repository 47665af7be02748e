/**
 * The typed client of berth-shim's socket (protocol.ts), and `startShim`,
 * which starts a shim and returns once its socket is up. Every call opens a
 * connection, sends one request and reads one reply, as the protocol says.
 */
import { connect as netConnect, Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { BerthError, unavailable, wrap } from '../common/errors.js';
import { native, type NativeAddon } from '../common/native.js';
import { FrameReader } from '../runtime/plan/wire.js';
import { encodeShimMessage, decodeShimMessage, findRecord, type ShimEntry, type ShimMessage } from './codec.js';
import { ShimReply, ShimRequest, type ShimStatusName } from './protocol.js';
import { logPositionOf, openAttachment, type AttachOptions, type Attachment, type LogPosition } from './attach.js';

export interface ShimState {
  pid: number;
  status: ShimStatusName;
  exitStatus: number;
  /** nanoseconds since the epoch; 0n while running */
  exitedAt: bigint;
  /** log entries lost to write errors (a full disk); the container keeps running */
  logErrors: number;
  /** the last log write error, when there was one */
  logError?: string;
  /** where the init's log stands (its generation moves with each rotation) */
  log?: LogPosition;
}

export interface ShimExit {
  status: number;
  exitedAt: bigint;
}

export interface ExecOptions {
  /** the OCI process object */
  process: Record<string, unknown>;
  /** file or fifo opened as stdin (default /dev/null) */
  stdin?: string;
  /** stdin is a pipe the shim holds: fed by attachers, closed by closeStdin (overrides `stdin`) */
  openStdin?: boolean;
  /** json-file log of the exec's output (default <state-dir>/exec-<id>.log) */
  log?: string;
  terminal?: boolean;
}

function exchange(socketPath: string, request: Buffer): Promise<ShimMessage> {
  return new Promise((resolve, reject) => {
    const sock: Socket = netConnect(socketPath);
    const frames = new FrameReader();
    let done = false;
    const finish = (err: Error | null, m?: ShimMessage): void => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err); else resolve(m!);
    };
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk: Buffer) => {
      const [body] = frames.push(chunk);
      if (!body) return;
      try { finish(null, decodeShimMessage(body)); } catch (e) { finish(e as Error); }
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(unavailable(`shim at ${socketPath} closed the connection without a reply`)));
  });
}

export class ShimClient {
  private constructor(readonly socketPath: string) {}

  /** Checks the shim answers (a STATE call) and returns a client for it. */
  static async connect(socketPath: string): Promise<ShimClient> {
    const c = new ShimClient(socketPath);
    await c.state();
    return c;
  }

  /**
   * A client with no check: every call opens its own connection anyway, so
   * a caller about to make a call learns from it whether the shim answers,
   * one round trip sooner than connect().
   */
  static at(socketPath: string): ShimClient {
    return new ShimClient(socketPath);
  }

  private async call(type: number, records: ShimEntry[], what: string): Promise<ShimMessage> {
    let m: ShimMessage;
    try {
      m = await exchange(this.socketPath, encodeShimMessage(type, records));
    } catch (e) {
      throw e instanceof BerthError ? e : wrap(`cannot ${what}: shim at ${this.socketPath}`, e);
    }
    if (m.type === ShimReply.ERROR) {
      const message = findRecord(m, 'MESSAGE')?.message ?? `shim refused to ${what}`;
      const kind = /no such exec|unknown request/.test(message) ? 'not-found'
        : /container is|still exists|deleted|already in use/.test(message) ? 'failed-precondition' : 'internal';
      throw new BerthError(kind, message);
    }
    return m;
  }

  private static stateOf(m: ShimMessage): ShimState {
    const state: ShimState = {
      pid: findRecord(m, 'PID')?.pid ?? 0,
      status: (findRecord(m, 'STATUS')?.status ?? 'stopped') as ShimStatusName,
      exitStatus: findRecord(m, 'EXIT_STATUS')?.code ?? 0,
      exitedAt: findRecord(m, 'EXIT_TIME')?.ns ?? 0n,
      logErrors: findRecord(m, 'LOG_ERRORS')?.count ?? 0,
    };
    const logError = findRecord(m, 'LOG_ERROR')?.message;
    if (logError !== undefined) state.logError = logError;
    const log = logPositionOf(m);
    if (log) state.log = log;
    return state;
  }

  async state(): Promise<ShimState> {
    return ShimClient.stateOf(await this.call(ShimRequest.STATE, [], 'get the state'));
  }

  async start(): Promise<void> {
    await this.call(ShimRequest.START, [], 'start the container');
  }

  async kill(signal: number, all = false): Promise<void> {
    await this.call(ShimRequest.KILL, [
      { type: 'SIGNAL', value: { signal } }, { type: 'ALL', value: { all: all ? 1 : 0 } },
    ], 'kill the container');
  }

  /** Starts an extra process in the container; returns its state (pid). */
  async exec(execId: string, opts: ExecOptions): Promise<ShimState> {
    const records: ShimEntry[] = [
      { type: 'EXEC_ID', value: { id: execId } },
      { type: 'PROCESS', value: { json: JSON.stringify(opts.process) } },
    ];
    if (opts.stdin) records.push({ type: 'STDIN', value: { path: opts.stdin } });
    if (opts.openStdin) records.push({ type: 'OPEN_STDIN', value: { open: 1 } });
    if (opts.log) records.push({ type: 'LOG', value: { path: opts.log } });
    if (opts.terminal) records.push({ type: 'TERMINAL', value: { terminal: 1 } });
    return ShimClient.stateOf(await this.call(ShimRequest.EXEC, records, `exec ${execId}`));
  }

  /** Resolves when the init (no id) or that exec has exited. */
  async wait(execId?: string): Promise<ShimExit> {
    const records: ShimEntry[] = execId ? [{ type: 'EXEC_ID', value: { id: execId } }] : [];
    const m = await this.call(ShimRequest.WAIT, records, `wait for ${execId ?? 'the container'}`);
    return { status: findRecord(m, 'EXIT_STATUS')?.code ?? 0, exitedAt: findRecord(m, 'EXIT_TIME')?.ns ?? 0n };
  }

  async resize(rows: number, cols: number, execId?: string): Promise<void> {
    const records: ShimEntry[] = [{ type: 'SIZE', value: { rows, cols } }];
    if (execId) records.push({ type: 'EXEC_ID', value: { id: execId } });
    await this.call(ShimRequest.RESIZE, records, 'resize the terminal');
  }

  async closeStdin(execId?: string): Promise<void> {
    await this.call(ShimRequest.CLOSE_STDIN, execId ? [{ type: 'EXEC_ID', value: { id: execId } }] : [], 'close stdin');
  }

  /**
   * Attaches to the init (no execId) or an exec: resolves once the shim has
   * accepted, so output produced afterwards is not missed. Iterate it for
   * output; it ends when the process has exited (see `exit`) or on close().
   */
  async attach(opts: AttachOptions = {}): Promise<Attachment> {
    return openAttachment(this.socketPath, opts);
  }

  /** Forgets an exited exec (its log stays). */
  async deleteExec(execId: string): Promise<void> {
    await this.call(ShimRequest.DELETE_EXEC, [{ type: 'EXEC_ID', value: { id: execId } }], `delete exec ${execId}`);
  }

  /**
   * `<runtime> delete`. With exit, the shim also exits right after its OK
   * (SHUTDOWN folded in); resolves whether it did — a shim older than
   * EXIT_AFTER ignores the record and still needs a shutdown().
   */
  async delete(opts: { exit?: boolean } = {}): Promise<{ exited: boolean }> {
    const m = await this.call(ShimRequest.DELETE, opts.exit ? [{ type: 'EXIT_AFTER', value: { exit: 1 } }] : [], 'delete the container');
    return { exited: findRecord(m, 'EXIT_AFTER')?.exit === 1 };
  }

  async shutdown(): Promise<void> {
    await this.call(ShimRequest.SHUTDOWN, [], 'shut down the shim');
  }
}

export interface StartShimOptions {
  /** path of the berth-shim binary */
  binary: string;
  id: string;
  bundle: string;
  runtime: string;
  runtimeArgs?: readonly string[];
  socket: string;
  stateDir: string;
  log: string;
  logMaxSize?: number;
  logMaxFile?: number;
  terminal?: boolean;
  /** the init's stdin is a pipe the shim holds (attach, closeStdin) */
  stdin?: boolean;
  /**
   * The fast path: berth-core's in-process planner socket. The runtime must
   * be Berth's own berth-runtime: the shim runs its front in a fork and asks
   * this socket for the plan instead of exec'ing the runtime.
   */
  planner?: string;
}

export function shimArgs(o: StartShimOptions): string[] {
  const args = ['--id', o.id, '--bundle', o.bundle, '--runtime', o.runtime,
    '--socket', o.socket, '--state-dir', o.stateDir, '--log', o.log];
  for (const a of o.runtimeArgs ?? []) args.push('--runtime-arg', a);
  if (o.logMaxSize !== undefined) args.push('--log-max-size', String(o.logMaxSize));
  if (o.logMaxFile !== undefined) args.push('--log-max-file', String(o.logMaxFile));
  if (o.terminal) args.push('--terminal');
  if (o.stdin) args.push('--stdin');
  if (o.planner !== undefined) args.push('--planner', o.planner);
  return args;
}

/** The shim's message for a failed start, as a BerthError of the right kind. */
function startFailure(message: string): BerthError {
  const kind = /cannot use runtime/.test(message) ? 'not-found' : 'internal';
  return new BerthError(kind, message);
}

/**
 * Starts berth-shim, which creates the container and detaches; resolves when
 * its socket is up. The shim's message (the runtime's stderr when `create`
 * fails) becomes the error.
 *
 * Spawned through the addon (posix_spawn, `--ready-fd 3`) when it is built:
 * child_process forks this whole (large) process and waits for a starter
 * that outlives the create; the addon's spawn is a vfork, and the shim's
 * first process exits at once while the verdict comes on the pipe.
 * `BERTH_SHIM_SPAWN=child_process` forces the old way (for comparison).
 */
/** pid: the shim's; initPid: its container's init (0 when the shim did not say: the child_process way) */
export interface StartedShim { pid: number; socket: string; initPid: number }

export function startShim(o: StartShimOptions): Promise<StartedShim> {
  let addon: NativeAddon | undefined;
  if (process.env.BERTH_SHIM_SPAWN !== 'child_process') {
    try { addon = native(); } catch { /* not built: child_process below */ }
  }
  return addon ? startShimNative(addon, o) : startShimChild(o);
}

function startShimNative(addon: NativeAddon, o: StartShimOptions): Promise<StartedShim> {
  let spawned: { pid: number; readyFd: number };
  try {
    spawned = addon.spawnDetached(o.binary, [o.binary, ...shimArgs(o), '--ready-fd', '3']);
  } catch (e) {
    return Promise.reject(wrap(`cannot start shim for container ${o.id}`, e));
  }
  return new Promise((resolve, reject) => {
    const ready = new Socket({ fd: spawned.readyFd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    ready.on('data', (d: Buffer) => chunks.push(d));
    ready.on('error', (e) => { ready.destroy(); reject(wrap(`cannot start shim for container ${o.id}`, e)); });
    ready.on('end', () => {
      ready.destroy();
      void reapStarter(addon, spawned.pid).then((status) => {
        const verdict = Buffer.concat(chunks).toString();
        // K<shim pid> <init pid>
        const [pid = 0, initPid = 0] = verdict.startsWith('K') ? verdict.slice(1).split(' ').map((v) => Number.parseInt(v, 10) || 0) : [];
        if (pid > 0) { resolve({ pid, socket: o.socket, initPid }); return; }
        if (verdict.startsWith('E') && verdict.length > 1) { reject(startFailure(verdict.slice(1))); return; }
        // its first process exits 0 after the fork: a silent EOF means the shim died
        reject(startFailure(status > 0 ? `shim exited with status ${String(status >> 8)}` : 'the shim died while starting'));
      });
    });
  });
}

/** The shim's first process exits right after its fork: collect it (briefly retried). */
async function reapStarter(addon: NativeAddon, pid: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    let status: number;
    try { status = addon.reap(pid); } catch { return -1; }
    if (status >= 0) return status;
    await new Promise((r) => setTimeout(r, 5));
  }
  return -1;
}

function startShimChild(o: StartShimOptions): Promise<StartedShim> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.binary, shimArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => reject(wrap(`cannot start shim for container ${o.id}`, e)));
    child.on('close', (code) => {
      const pid = Number.parseInt(out.trim(), 10);
      if (code === 0 && pid > 0) { resolve({ pid, socket: o.socket, initPid: 0 }); return; }
      reject(startFailure(err.trim().replace(/^berth-shim: /, '') || `shim exited with status ${String(code)}`));
    });
  });
}
