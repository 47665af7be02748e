/**
 * The warm planner: a root-only daemon on a unix socket that plans and
 * supervises berth-runtime invocations, so the C front never pays Node's
 * start-up (see ARCHITECTURE.md, "The native boundary"). It exits after a
 * while without work; the front starts a new one on demand.
 */
import { createServer, Socket, type Server } from 'node:net';
import { renameSync, unlinkSync, writeSync, closeSync, chmodSync, statSync } from 'node:fs';
import { Conversation } from './conversation.js';
import { serveInvocation } from './session.js';

const IDLE_MS = Number(process.env.BERTH_PLANNER_IDLE_MS ?? 60_000);

export function serveSocket(path: string, readyFd: number | undefined): Server {
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (active === 0) shutdown();
    }, IDLE_MS);
    idleTimer.unref();
  };
  const server = createServer((sock) => {
    active++;
    if (idleTimer) clearTimeout(idleTimer);
    void serveInvocation(new Conversation(sock)).finally(() => {
      active--;
      if (active === 0) armIdle();
    });
  });
  // Bind under a private name and rename into place: a concurrent start of
  // another planner never finds a half-created socket.
  const tmp = `${path}.${process.pid}`;
  let bound: number | undefined;
  const shutdown = (): void => {
    // The lock file first (fronts that took a lock on it see it unlinked and
    // retry on a fresh one), and only while the socket at path is still ours:
    // otherwise a newer daemon owns both.
    if (bound !== undefined && inodeOf(path) === bound) {
      try { unlinkSync(lockPathOf(path)); } catch { /* already gone */ }
      try { unlinkSync(path); } catch { /* already gone */ }
    }
    server.close();
    process.exit(0);
  };
  server.listen(tmp, () => {
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
    bound = inodeOf(path);
    if (readyFd !== undefined) {
      try { writeSync(readyFd, 'r'); closeSync(readyFd); } catch { /* the front gave up waiting */ }
    }
    armIdle();
    setImmediate(warmUp);
  });
  process.on('SIGTERM', shutdown);
  return server;
}

/** The front's lock file of a daemon socket: `<key>.sock` → `<key>.lock` (native/front/planner.c). */
export function lockPathOf(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '') + '.lock';
}

function inodeOf(path: string): number | undefined {
  try { return statSync(path).ino; } catch { return undefined; }
}

/**
 * Loads and exercises the code every create needs (config validation,
 * seccomp compilation) while the daemon is idle, so the first container
 * does not pay for it.
 */
function warmUp(): void {
  void (async () => {
    try {
      const { validateSpec } = await import('../spec/validate.js');
      const { specTemplate } = await import('../../common/oci-template.js');
      const { defaultSeccompProfile } = await import('../seccomp/default-profile.js');
      const { compileSeccomp } = await import('../seccomp/index.js');
      validateSpec(specTemplate({ rootless: false, uid: 0, gid: 0 }));
      compileSeccomp(defaultSeccompProfile({ capabilities: [] }));
    } catch { /* warming is an optimisation only */ }
  })();
}

/** Inline mode: one conversation on an inherited socket, then exit. */
export async function serveInline(fd: number): Promise<void> {
  const sock = new Socket({ fd, readable: true, writable: true });
  await serveInvocation(new Conversation(sock));
}
