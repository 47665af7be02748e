#!/usr/bin/env node
// bench/start: create + start + wait (+ delete) of busybox `/bin/true` on the
// same rootfs, interleaved rounds in balanced orders (balancedOrders), median ratios:
//   shim  berth-shim driven directly: startShim (create), START, WAIT, DELETE;
//   core  through berth-core's API (a core of our own on temp dirs), the way a
//         client does it: Containers.Create, Tasks.Create, Start, Wait,
//         Tasks.Delete, Containers.Delete (only when the core's Tasks answer);
//         the fast path (the core plans in-process, the shim runs the front);
//   core-exec  the same with `"fast-path": false` in the core's config: the
//         shim execs bin/berth-runtime, which asks the warm planner daemon;
//   core-base  optional A/B: the fast path through another berth-core build
//         (BERTH_BENCH_BASE_CORE=/path/to/bin/berth-core, e.g. a copy of the
//         previous dist/ with bin/ and node_modules linked next to it), so a
//         change to the core is measured against its baseline in the same
//         interleaved rounds;
//   ctr   `ctr run --rm --rootfs` against Debian's containerd started on its own
//         temp root/state/socket.
// The Berth calls are made from this (warm) Node process, as a client of the
// core would; `ctr` is a fresh Go process per run, as `ctr run` is used.
// With core-base, the median of per-round core / core-base ratios is printed
// too (the A/B itself, less noisy than two ratios to ctr);
// BERTH_BENCH_WAYS=core,core-base runs only the ways named (no ctr ratios
// without ctr).
//   node --import tsx bench/start.mjs [rounds=30]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, defaultConfig } from '../tests/helpers/bundle.js';
import { Engines, CTR_NAMESPACE } from '../tests/helpers/engines.js';
import { ShimClient, startShim } from '../src/shim/client.js';
import { CoreClient } from '../src/core/client.js';
import { removeCgroupTree } from './lib/cgroups.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHIM = join(repo, 'bin', 'berth-shim');
const RUNTIME = join(repo, 'bin', 'berth-runtime');
const CORE = join(repo, 'bin', 'berth-core');
const HOST_CONTAINERD_DIR = '/run/containerd';
const rounds = Number(process.argv[2] ?? 30);
const ARGS = ['/bin/true'];

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const now = () => process.hrtime.bigint();
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function pidsByCmdline(needle) {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) out.push(Number(p)); } catch { /* exited */ }
  }
  return out;
}

// ---------------------------------------------------------------- shim ----

/** Per-call times of the direct shim path (ms). */
const shimSteps = {};

function shimWay(rootfs, work) {
  const cgroupParent = `/berth-bench-start-${process.pid}`;
  let seq = 0;
  return {
    name: 'shim',
    async once() {
      const id = `bench-start-${process.pid}-${seq++}`;
      const dir = join(work, id);
      mkdirSync(dir);
      const config = defaultConfig(ARGS);
      config.root = { path: rootfs, readonly: false };
      config.linux.cgroupsPath = `${cgroupParent}/${id}`;
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const opts = { binary: SHIM, id, bundle: dir, runtime: RUNTIME, socket: join(dir, 'shim.sock'), stateDir: join(dir, 'state'), log: join(dir, 'ctr.log') };
      const t0 = now();
      let t = t0;
      const step = (name) => { const n = now(); (shimSteps[name] ??= []).push(Number(n - t) / 1e6); t = n; };
      await startShim(opts);
      const c = await ShimClient.connect(opts.socket);
      step('startShim+STATE');
      await c.start();
      step('START');
      const exit = await c.wait();
      step('WAIT');
      await c.delete();
      step('DELETE');
      const ms = msSince(t0);
      await c.shutdown().catch(() => { /* it may already be gone */ });
      if (exit.status !== 0) throw new Error(`shim container ${id} exited ${exit.status}`);
      rmSync(dir, { recursive: true, force: true });
      return ms;
    },
    async cleanup() {
      for (const p of pidsByCmdline(`bench-start-${process.pid}-`)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      await sleep(100);
      removeCgroupTree(cgroupParent);
    },
  };
}

// ---------------------------------------------------------------- core ----

/** Per-call times of the core path (ms), to show where its time goes. */
const steps = {};

async function coreWay(rootfs, work, name = 'core', fastPath = true, binary = CORE) {
  // not a prefix of another way's directory: cleanup finds processes by it
  const dir = join(work, binary !== CORE ? 'base' : fastPath ? 'fast' : 'exec');
  mkdirSync(dir);
  const address = join(dir, 'core.sock');
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ 'fast-path': fastPath }));
  const child = spawn(binary, ['--config', configFile, '--address', address, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--log-file', join(dir, 'core.log')], { stdio: 'ignore' });
  const client = new CoreClient(address, 'bench');
  const stop = async () => {
    client.close();
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); }
    // shims outlive the core by design: remove what a failed round left
    for (const p of pidsByCmdline(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    const r = spawnSync('sh', ['-c', `for r in ${dir}/state/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNTIME} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
    if (r.status !== 0) console.error('core cleanup: runtime delete failed');
  };
  try {
    await client.waitForReady(10_000);
    await client.tasks.List({});
  } catch (e) {
    await stop();
    return { unavailable: `berth-core tasks do not answer: ${e.message}` };
  }
  const spec = defaultConfig(ARGS);
  spec.root = { path: rootfs, readonly: false };
  const specBytes = Buffer.from(JSON.stringify(spec));
  let seq = 0;
  const mySteps = (steps[name] ??= {});
  return {
    name,
    async once() {
      const id = `bench-core-${seq++}`;
      const t0 = now();
      let t = t0;
      const step = (s) => { const n = now(); (mySteps[s] ??= []).push(Number(n - t) / 1e6); t = n; };
      await client.containers.Create({ container: { id, image: '', spec: specBytes, runtime: { name: '', options: Buffer.alloc(0) }, rootfs, snapshotKey: '', labels: {} } });
      step('Containers.Create');
      await client.tasks.Create({ containerId: id });
      step('Tasks.Create');
      await client.tasks.Start({ containerId: id });
      step('Tasks.Start');
      const w = await client.tasks.Wait({ containerId: id });
      step('Tasks.Wait');
      await client.tasks.Delete({ containerId: id });
      step('Tasks.Delete');
      await client.containers.Delete({ id });
      step('Containers.Delete');
      const ms = msSince(t0);
      if (w.exitStatus !== 0) throw new Error(`core container ${id} exited ${w.exitStatus}`);
      return ms;
    },
    cleanup: stop,
  };
}

// ----------------------------------------------------------------- ctr ----

async function ctrWay(rootfs) {
  const hostDirExisted = existsSync(HOST_CONTAINERD_DIR);
  const e = await Engines.start({ runtimes: {}, dockerd: false });
  let seq = 0;
  return {
    name: 'ctr',
    async once() {
      const id = `bench-start-${seq++}`;
      const t0 = now();
      const r = e.ctr(['-n', CTR_NAMESPACE, 'run', '--rm', '--rootfs', '--fifo-dir', e.fifoDir, '--cgroup', `${e.cgroupParent}/${id}`, rootfs, id, ...ARGS]);
      const ms = msSince(t0);
      if (r.code !== 0) throw new Error(`ctr run ${id} exited ${r.code}: ${r.stderr}`);
      return ms;
    },
    async cleanup() {
      await e.stop();
      // the shims' runc keeps its state under /run/containerd/runc/<namespace>, which stop() leaves
      if (!hostDirExisted) {
        for (const d of [`runc/${CTR_NAMESPACE}`, 'runc', 's', 'fifo', '.']) { try { rmdirSync(join(HOST_CONTAINERD_DIR, d)); } catch { /* absent or in use */ } }
      }
      const left = e.leftovers();
      if (left.length) console.error(`containerd leftovers: ${left.join('; ')}`);
    },
  };
}

// ----------------------------------------------------------------- main ----

/**
 * Round orders in which every way comes right after every other way equally
 * often (a Williams design: n rows for an even n, 2n for an odd one). A plain
 * rotation puts each way after the same neighbour in most rounds, so a way
 * that leaves work behind (containerd's cleanup after `ctr run --rm`, a
 * core's deferred bundle removal) always slows the same successor.
 */
function balancedOrders(n) {
  const first = [];
  for (let lo = 0, hi = n - 1, k = 0; lo <= hi; k++) first.push(k % 2 === 0 ? lo++ : hi--);
  const rows = Array.from({ length: n }, (_, r) => first.map((w) => (w + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-start-'));
const bundle = makeBundle(ARGS, 'berth-bench-rootfs-');
const ways = [];
const notes = [];
const times = {};
const ratios = {};
/** per-round core / core-base */
const abRatios = [];
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
let failed = false;
try {
  const only = process.env.BERTH_BENCH_WAYS?.split(',');
  const wanted = (name) => !only || only.includes(name);
  if (wanted('shim')) ways.push(shimWay(bundle.rootfs, work));
  const base = process.env.BERTH_BENCH_BASE_CORE;
  const cores = [['core', true, CORE], ['core-exec', false, CORE]];
  if (base) cores.push(['core-base', true, base]);
  for (const [name, fast, binary] of cores) {
    if (!wanted(name)) continue;
    const core = await coreWay(bundle.rootfs, work, name, fast, binary);
    if ('unavailable' in core) notes.push(core.unavailable); else ways.push(core);
  }
  if (wanted('ctr')) ways.push(await ctrWay(bundle.rootfs));
  for (const w of ways) { times[w.name] = []; for (let i = 0; i < 3; i++) await w.once(); } // warm-up
  for (const k of Object.keys(steps)) for (const s of Object.keys(steps[k])) delete steps[k][s];
  for (const k of Object.keys(shimSteps)) delete shimSteps[k];
  if (wanted('ctr')) for (const w of ways) if (w.name !== 'ctr') ratios[w.name] = [];
  const orders = balancedOrders(ways.length);
  for (let i = 0; i < rounds; i++) {
    const order = orders[i % orders.length].map((k) => ways[k]);
    const got = {};
    for (const w of order) { got[w.name] = await w.once(); times[w.name].push(got[w.name]); }
    for (const k of Object.keys(ratios)) ratios[k].push(got[k] / got.ctr);
    if (got['core-base'] !== undefined) abRatios.push(got.core / got['core-base']);
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  for (const w of ways) { try { await w.cleanup(); } catch (e) { console.error(`cleanup of ${w.name}: ${e.message}`); } }
  removeBundle(bundle);
  rmSync(work, { recursive: true, force: true });
}

const result = {
  rounds,
  medianMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +median(v).toFixed(2)])),
  medianRatioToCtr: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, +median(v).toFixed(3)])),
  ...(abRatios.length ? { medianRatioCoreToBase: +median(abRatios).toFixed(3) } : {}),
  loadavg: { before: loadBefore, after: readFileSync('/proc/loadavg', 'utf8').trim() },
  shimStepMedianMs: Object.fromEntries(Object.entries(shimSteps).map(([k, v]) => [k, +median(v).toFixed(2)])),
  coreStepMedianMs: Object.fromEntries(Object.entries(steps).map(([w, st]) => [w, Object.fromEntries(Object.entries(st).map(([k, v]) => [k, +median(v).toFixed(2)]))])),
  notes,
};
console.log(JSON.stringify(result, null, 2));
for (const [k, v] of Object.entries(result.medianRatioToCtr)) {
  const label = { core: 'berth-core API (fast path)', 'core-exec': 'berth-core API (exec path)', 'core-base': `berth-core API (fast path, baseline ${process.env.BERTH_BENCH_BASE_CORE})`, shim: 'berth-shim direct' }[k] ?? k;
  console.log(`${label} / ctr run --rm: median ratio ${v} over ${rounds} interleaved rounds (target <= 0.5)`);
}
if (failed) process.exitCode = 1;
