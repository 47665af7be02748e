/**
 * berthd's berth-core. When nothing answers at the core address, berthd
 * starts bin/berth-core there itself: detached in its own session, with its
 * own log file, so the core (and every container under it) outlives
 * berthd — a berthd restart or kill -9 finds it and uses it again.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { unavailable } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { CoreClient } from '../core/client.js';

export interface CorePlan {
  address: string;
  /** where bin/berth-core is */
  binDir: string;
  /** --root of a core started here */
  root: string;
  /** --state of a core started here */
  state: string;
  /** --config of a core started here (its runtime table) */
  configFile: string;
  /** log file of a core started here */
  logFile: string;
  logLevel: string;
}

/** True when a core answers at `address` within `timeoutMs`. */
async function answers(address: string, timeoutMs: number): Promise<boolean> {
  if (!existsSync(address)) return false;
  const client = new CoreClient(address);
  try {
    await client.waitForReady(timeoutMs);
    await client.namespaces.List({});
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

interface Started { pid: number; exited: () => number | null | undefined }

/** Starts berth-core detached, in its own session. */
function startCore(plan: CorePlan): Started {
  const bin = join(plan.binDir, 'berth-core');
  if (!existsSync(bin)) throw unavailable(`cannot start berth-core: ${bin} not found (run the build)`);
  mkdirSync(plan.state, { recursive: true });
  mkdirSync(plan.root, { recursive: true });
  // stderr too goes to a file: a crash before the logger exists still leaves its words
  const err = openSync(join(plan.state, 'berth-core.stderr'), 'a');
  try {
    const child = spawn(bin, ['--address', plan.address, '--root', plan.root, '--state', plan.state,
      '--config', plan.configFile, '--log-file', plan.logFile, '--log-level', plan.logLevel], { detached: true, stdio: ['ignore', 'ignore', err] });
    let code: number | null | undefined;
    child.on('exit', (c, signal) => { code = c ?? (signal ? 128 : null); });
    child.on('error', () => { code = -1; });
    child.unref();
    if (child.pid === undefined) throw unavailable(`cannot start berth-core ${bin}`);
    return { pid: child.pid, exited: () => code };
  } finally {
    closeSync(err);
  }
}

async function waitForCore(plan: CorePlan, started: Started, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const code = started.exited();
    if (code !== undefined) {
      throw unavailable(`cannot start berth-core at ${plan.address}: it exited with status ${code} (see ${join(plan.state, 'berth-core.stderr')} and ${plan.logFile})`);
    }
    if (await answers(plan.address, Math.min(1000, Math.max(50, deadline - Date.now())))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw unavailable(`cannot reach berth-core at ${plan.address}: it did not answer within ${waitMs / 1000} s (see ${plan.logFile})`);
}

/**
 * A client of a serving core: the one at `plan.address`, or one started
 * there when nothing answers.
 */
export async function connectCore(plan: CorePlan, log: Logger, waitMs = 20_000): Promise<CoreClient> {
  if (await answers(plan.address, 1000)) {
    log.info('using running berth-core', { address: plan.address });
  } else {
    const started = startCore(plan);
    log.info('started berth-core', { address: plan.address, pid: started.pid, log: plan.logFile });
    await waitForCore(plan, started, waitMs);
  }
  const client = new CoreClient(plan.address);
  await client.waitForReady(5000);
  return client;
}

/**
 * False only when nothing listens at the unix socket (missing or refused):
 * a core that is busy still accepts connections, so it is never taken for
 * dead; anything else (a slow accept) counts as alive.
 */
function listening(address: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(address);
    const done = (alive: boolean): void => { s.destroy(); resolve(alive); };
    s.setTimeout(timeoutMs, () => done(true));
    s.on('connect', () => done(true));
    s.on('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ENOENT' && err.code !== 'ECONNREFUSED'));
  });
}

/**
 * Keeps the core up while berthd runs, as dockerd does its containerd: a
 * core killed under berthd would otherwise leave every container call
 * failing with "cannot reach berth-core" until berthd itself restarts. Two
 * checks in a row with nothing listening start a new core at the address
 * (its tasks come back through their shims; the core's lock refuses a
 * second one beside a live core). Returns the function that stops watching.
 */
export function superviseCore(plan: CorePlan, log: Logger, everyMs = 1000): () => void {
  let stopped = false;
  let misses = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    if (await listening(plan.address)) misses = 0;
    else if (++misses >= 2 && !stopped) {
      misses = 0;
      try {
        const started = startCore(plan);
        log.warn('berth-core was gone: started it again', { address: plan.address, pid: started.pid });
        await waitForCore(plan, started, 20_000);
      } catch (err) {
        log.error('cannot restart berth-core', { address: plan.address, error: (err as Error).message });
      }
    }
    if (!stopped) { timer = setTimeout(() => void tick(), everyMs); timer.unref(); }
  };
  timer = setTimeout(() => void tick(), everyMs);
  timer.unref();
  return () => { stopped = true; clearTimeout(timer); };
}
