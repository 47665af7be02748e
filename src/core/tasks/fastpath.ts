/**
 * The fast path (ARCHITECTURE.md, "Fast path"): when a task's runtime is
 * Berth's own berth-runtime, the core is its planner. The shim gets
 * `--planner <state>/planner.sock`; for each runtime call (create, start,
 * kill, exec, delete) a fork of the shim runs berth-runtime's C front on a
 * connection to this socket, and the core serves it with the planner's own
 * session — the same function the warm planner daemon runs. So the plan,
 * the state file, the cgroups and the executor are those of
 * `berth-runtime`, and no Node process starts per container.
 *
 * A shim that finds nobody on the socket (a core that is down, or moved to
 * another --state) execs the runtime binary instead, so the exec path is
 * always the fallback.
 */
import { createServer, type Server } from 'node:net';
import { chmodSync, realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Conversation } from '../../runtime/planner/conversation.js';
import { serveInvocation } from '../../runtime/planner/session.js';
import type { Logger } from '../../common/log.js';

export const plannerSocket = (state: string): string => join(state, 'planner.sock');

function real(path: string): string {
  try { return realpathSync(path); } catch { return path; }
}

/** Whether runtimePath is this installation's berth-runtime (the binary the fast path stands in for). */
export function isBundledRuntime(runtimePath: string, bundled: string): boolean {
  return real(runtimePath) === real(bundled);
}

export class FastPath {
  private server: Server | undefined;
  private listening: Promise<void> | undefined;
  private active = 0;

  constructor(readonly socket: string, private readonly log: Logger) {}

  /** Starts serving (once); resolves when the socket is up, rejects when it cannot be. */
  listen(): Promise<void> {
    this.listening ??= new Promise<void>((resolve, reject) => {
      // one core per --state (its lock), so a socket here is a dead core's
      try { unlinkSync(this.socket); } catch { /* none */ }
      const server = createServer((sock) => {
        this.active++;
        const t0 = process.hrtime.bigint();
        void serveInvocation(new Conversation(sock)).finally(() => {
          this.active--;
          this.log.debug('fast path call', { ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        });
      });
      server.once('error', (err) => {
        this.log.warn('fast path unavailable: the runtime binary is used', { socket: this.socket, error: err.message });
        reject(err);
      });
      server.listen(this.socket, () => {
        chmodSync(this.socket, 0o600);
        this.server = server;
        resolve();
      });
    });
    return this.listening;
  }

  /** Whether the socket is up (a task created now may use it). */
  async ready(): Promise<boolean> {
    try { await this.listen(); return true; } catch { return false; }
  }

  /** Calls in progress (a shim mid-create), for tests and logs. */
  get inFlight(): number {
    return this.active;
  }

  close(): void {
    if (!this.server) return;
    this.server.close();
    this.server = undefined;
    try { unlinkSync(this.socket); } catch { /* already gone */ }
  }
}
