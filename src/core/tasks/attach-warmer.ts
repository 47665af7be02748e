/**
 * Keeps the kernel's cgroup attach path fast while tasks are being created.
 *
 * Every write to a `cgroup.procs` (v1 or v2) takes one global lock,
 * cgroup_threadgroup_rwsem, whose writer first waits for an RCU grace
 * period — unless another writer left it less than a grace period ago.
 * So the runtime's move of a new container's init into its cgroup costs
 * ~10 ms on this kind of host (the whole CHILD → CONTINUE step of a
 * create; runc pays it too), while a second write right after costs
 * ~0.1 ms (measured: 9–11 ms cold, 0.07–0.11 ms with a write 15 ms before).
 *
 * While a Tasks.Create (or an exec's start) runs, the warmer writes the
 * core's own pid into the cgroup.procs of the cgroup the core is already in
 * (a move to where it is: nothing changes), from a thread of its own, every
 * few milliseconds. The first write pays the grace period off the critical
 * path, at the start of the create; each later one keeps the lock's fast
 * state alive, so the runtime's write of the init, 15–30 ms into the
 * create, finds it warm. The core's cgroup is read at each hold. A host
 * where the write fails (no such file, refused) stops the warmer for good:
 * creates are then as they were.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from '../../common/log.js';

/** Well under a grace period (~10 ms here), so the fast state never lapses between writes. */
const EVERY_MS = 3;

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The cgroup.procs of the cgroup this process is in, from /proc/self/cgroup:
 * the unified hierarchy on a v2 host, else the first mounted v1 controller
 * hierarchy (not a named one: systemd's is left alone).
 */
export function ownProcsFile(selfCgroup: string, root = CGROUP_ROOT): string | undefined {
  const lines = selfCgroup.split('\n').filter(Boolean).map((l) => {
    const [, , controllers = '', path = ''] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers, path };
  });
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const unified = lines.find((l) => l.controllers === '');
    return unified ? join(root, unified.path, 'cgroup.procs') : undefined;
  }
  for (const l of lines) {
    if (l.controllers === '' || l.controllers.startsWith('name=')) continue;
    const file = join(root, l.controllers, l.path, 'cgroup.procs');
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Shared state with the thread: [holders, stop, failed]. */
const HOLDERS = 0;
const STOP = 1;
const FAILED = 2;

/**
 * The writing thread. Its own thread, not the event loop: the core's loop is
 * busy (planning, the runtime's own attach) exactly when the writes must not
 * pause. It sleeps on the shared counter while nobody holds it; the file is
 * sent before each hold (the core's cgroup as it is then).
 */
const THREAD = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const state = new Int32Array(workerData.shared);
let file;
for (;;) {
  Atomics.wait(state, ${HOLDERS}, 0);
  if (Atomics.load(state, ${STOP})) break;
  for (let m; (m = receiveMessageOnPort(workerData.port)); ) file = m.message;
  try {
    writeFileSync(file, String(process.pid));
  } catch (err) {
    Atomics.store(state, ${FAILED}, 1);
    workerData.port.postMessage(String(err && err.message));
    break;
  }
  Atomics.wait(state, ${STOP}, 0, ${EVERY_MS});
}
`;

export class AttachWarmer {
  private readonly state = new Int32Array(new SharedArrayBuffer(3 * 4));
  private thread: Worker | undefined;
  private port: MessagePort | undefined;

  constructor(private readonly log: Logger) {}

  /**
   * Starts the thread now (a fixed ~7.5 MB of the core's memory, the cost of
   * a Node worker), so the first create finds it running and the thread is
   * part of the core, not of its growth per container.
   */
  prepare(): void {
    if (this.target() !== undefined) this.start();
  }

  /** Warms while held; the returned function lets go (creates overlap: counted). */
  hold(): () => void {
    if (Atomics.load(this.state, FAILED) || Atomics.load(this.state, STOP)) return () => {};
    const file = this.target();
    if (file === undefined) return () => {};
    const port = this.start();
    port.postMessage(file);
    Atomics.add(this.state, HOLDERS, 1);
    Atomics.notify(this.state, HOLDERS);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      Atomics.sub(this.state, HOLDERS, 1);
    };
  }

  close(): void {
    Atomics.store(this.state, STOP, 1);
    Atomics.add(this.state, HOLDERS, 1);
    Atomics.notify(this.state, HOLDERS);
    Atomics.notify(this.state, STOP);
    this.port?.close();
  }

  /** The core's own cgroup.procs now, so a core moved by its manager is never moved back. */
  private target(): string | undefined {
    try {
      const file = ownProcsFile(readFileSync('/proc/self/cgroup', 'utf8'));
      if (file !== undefined) return file;
      this.off('no cgroup.procs of its own found');
    } catch (err) {
      this.off((err as Error).message);
    }
    return undefined;
  }

  private start(): MessagePort {
    if (this.port) return this.port;
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(THREAD, { eval: true, workerData: { shared: this.state.buffer, port: port2 }, transferList: [port2] });
    thread.unref();
    thread.on('error', (err) => this.off(err.message));
    port1.on('message', (why: string) => this.off(why));
    port1.unref();
    this.thread = thread;
    this.port = port1;
    return port1;
  }

  private off(why: string): void {
    Atomics.store(this.state, FAILED, 1);
    this.log.debug('cgroup attach warmer off', { error: why });
  }

  /** Whether the thread is running (tests). */
  get running(): boolean {
    return this.thread !== undefined && !Atomics.load(this.state, FAILED);
  }
}
