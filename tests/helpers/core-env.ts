/**
 * A berth-core on temp dirs for the core's integration suites: its runtime
 * table, a busybox rootfs, a client reconnected at each (re)start, and a
 * cleanup that removes everything (cores, shims, runtime state, mounts,
 * dirs) whatever the test did.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreClient } from '../../src/core/client.js';
import { defaultConfig, makeBundle, removeBundle, type Bundle } from './bundle.js';
import { RUNC, kill9, liveMatching, ready, spawnCore, type Core } from './core.js';
import { REPO } from './runtime.js';

export interface CoreEnv {
  dir: string; address: string; client: CoreClient; rootfs: Bundle; core: Core;
  /** starts (or restarts) the core; the client is a fresh channel to it */
  start(extraEnv?: Record<string, string>): Promise<Core>;
  /** mounts the test made, unmounted at the end */
  mounts: string[];
}

/** Runs fn with a core whose runtime table is `runtimes(dir)` (runc is always there). */
export async function withCoreEnv(
  prefix: string, runtimes: (dir: string) => Record<string, { path: string }>, fn: (env: CoreEnv) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `berth-${prefix}-it-`));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runtimes: { runc: { path: RUNC }, ...runtimes(dir) } }));
  const address = join(dir, 'core.sock');
  const rootfs = makeBundle(['true'], `berth-${prefix}-rootfs-`);
  const cores: Core[] = [];
  const env: CoreEnv = {
    dir, address, rootfs, mounts: [], client: undefined as unknown as CoreClient, core: undefined as unknown as Core,
    start: async (extraEnv) => {
      const c = await ready(spawnCore(dir, address, extraEnv), address);
      cores.push(c);
      env.core = c;
      // a fresh channel: one to the killed core may fail its first call
      env.client?.close();
      env.client = new CoreClient(address);
      await env.client.waitForReady(15_000);
      return c;
    },
  };
  try {
    await env.start();
    await fn(env);
  } finally {
    env.client?.close();
    for (const c of cores) await kill9(c);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    const stateRoot = join(dir, 'state');
    if (existsSync(stateRoot)) spawnSync('sh', ['-c', `for r in ${stateRoot}/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNC} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; ${join(REPO, 'bin', 'berth-runtime')} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
    for (const m of env.mounts) spawnSync('umount', ['-l', m]);
    if (process.env.BERTH_KEEP_CORE_LOG) spawnSync('cp', [join(dir, 'core.log'), process.env.BERTH_KEEP_CORE_LOG]);
    removeBundle(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The container spec: `args` on the env's rootfs. */
export function specOf(env: CoreEnv, args: string[]): Buffer {
  const c = defaultConfig(args);
  c.root.path = env.rootfs.rootfs;
  return Buffer.from(JSON.stringify(c));
}

/** An exec's process section: the spec's process with `args`. */
export function procSpecOf(env: CoreEnv, args: string[]): Buffer {
  const p = JSON.parse(specOf(env, []).toString()).process;
  p.args = args;
  return Buffer.from(JSON.stringify(p));
}
