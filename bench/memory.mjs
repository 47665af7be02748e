#!/usr/bin/env node
// bench/memory: what one more container costs in memory, three ways in one run.
// N containers running busybox `sleep 1000` on the same rootfs:
//   berth      N berth-shims over bin/berth-runtime, made two ways: directly
//              (startShim + START; daemon side: the warm runtime planner) and
//              through berth-core's API (a core of our own on temp dirs; daemon
//              side: the core and the planner), when the core's Tasks answer;
//   containerd Debian's containerd on its own temp root/state/socket,
//              N `ctr run -d --rootfs`, one containerd-shim-runc-v2 each;
//   conmon     N `podman run -d --rootfs` on temp storage, one conmon each.
// Per container: the shim's USS (Private_Clean + Private_Dirty) and PSS from
// /proc/PID/smaps_rollup; per engine: the daemon's USS growth from a warm
// baseline (one container made and removed first) to N containers, spread
// over N. Everything is removed at the end, also on failure.
//   node --import tsx bench/memory.mjs [count=30]
// (tsx: the script uses the typed clients, src/shim/client.ts, src/core/client.ts)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBundle, removeBundle, defaultConfig } from '../tests/helpers/bundle.js';
import { Engines, CTR_NAMESPACE, pidsMentioning } from '../tests/helpers/engines.js';
import { ShimClient, startShim } from '../src/shim/client.js';
import { CoreClient } from '../src/core/client.js';
import { removeCgroupTree } from './lib/cgroups.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHIM = join(repo, 'bin', 'berth-shim');
const RUNTIME = join(repo, 'bin', 'berth-runtime');
const CORE = join(repo, 'bin', 'berth-core');
const RUNC = '/usr/sbin/runc';
// containerd's shims put sockets, and their runc its state, here whatever containerd's config says
const HOST_CONTAINERD_DIR = '/run/containerd';
const count = Number(process.argv[2] ?? 30);

/** USS, PSS and RSS of a process in KiB (0s when it is gone). */
function smaps(pid) {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { return { uss: 0, pss: 0, rss: 0 }; }
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { uss: kb('Private_Clean') + kb('Private_Dirty'), pss: kb('Pss'), rss: kb('Rss') };
}

function pidsByCmdline(test) {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (test(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'))) out.push(Number(p)); } catch { /* exited */ }
  }
  return out;
}

const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
const mean = (xs, k) => (xs.length ? sum(xs, k) / xs.length : 0);
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
};

// ---------------------------------------------------------------- berth ----

/** The runtime planner daemon berth-runtime shares between all calls (one per machine). */
function plannerMem() {
  const p = pidsByCmdline((a) => a.some((x) => x.includes('berth-runtime-planner')));
  return p.length ? smaps(p[0]) : { uss: 0, pss: 0, rss: 0 };
}

async function benchBerth(rootfs, work) {
  const shims = [];
  const cgroupParent = `/berth-bench-${process.pid}`;
  let seq = 0;
  const one = async () => {
    const id = `bench-mem-${process.pid}-${seq++}`;
    const dir = join(work, id);
    mkdirSync(dir);
    const config = defaultConfig(['/bin/sleep', '1000']);
    config.root = { path: rootfs, readonly: false };
    config.linux.cgroupsPath = `${cgroupParent}/${id}`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const opts = { binary: SHIM, id, bundle: dir, runtime: RUNTIME, socket: join(dir, 'shim.sock'), stateDir: join(dir, 'state'), log: join(dir, 'ctr.log') };
    const { pid } = await startShim(opts);
    const entry = { id, pid, socket: opts.socket, stateDir: opts.stateDir };
    shims.push(entry);
    await (await ShimClient.connect(opts.socket)).start();
    return entry;
  };
  const remove = async (s) => {
    const c = await ShimClient.connect(s.socket);
    await c.kill(9);
    await c.wait();
    await c.delete();
    await c.shutdown().catch(() => { /* it may exit on its own once deleted */ });
    shims.splice(shims.indexOf(s), 1);
  };
  try {
    await remove(await one()); // warm-up: page cache and the planner daemon
    const before = plannerMem();
    for (let i = 0; i < count; i++) await one();
    await sleep(500);
    const per = shims.map((s) => smaps(s.pid));
    const after = plannerMem();
    return { per, daemons: [{ name: 'runtime planner', before, after }] };
  } finally {
    for (const s of [...shims]) {
      try { await remove(s); } catch {
        spawnSync(RUNTIME, ['--root', join(s.stateDir, 'runtime'), 'delete', '--force', s.id], { stdio: 'ignore' });
        try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    removeCgroupTree(cgroupParent);
  }
}

/**
 * The same through berth-core's API (a core of our own on temp dirs): the
 * core starts one berth-shim per container; its own USS growth from a warm
 * baseline to N containers is the core's share. Undefined when the core's
 * Tasks service does not answer.
 */
async function benchBerthCore(rootfs, work) {
  const dir = join(work, 'core');
  mkdirSync(dir);
  const address = join(dir, 'core.sock');
  const child = spawn(CORE, ['--address', address, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--log-file', join(dir, 'core.log')], { stdio: 'ignore' });
  const client = new CoreClient(address, 'bench');
  const ids = [];
  const spec = defaultConfig(['/bin/sleep', '1000']);
  spec.root = { path: rootfs, readonly: false };
  const specBytes = Buffer.from(JSON.stringify(spec));
  let seq = 0;
  const one = async () => {
    const id = `bench-mem-core-${seq++}`;
    await client.containers.Create({ container: { id, image: '', spec: specBytes, runtime: { name: '', options: Buffer.alloc(0) }, rootfs, snapshotKey: '', labels: {} } });
    ids.push(id);
    await client.tasks.Create({ containerId: id });
    await client.tasks.Start({ containerId: id });
    return id;
  };
  const remove = async (id) => {
    await client.tasks.Kill({ containerId: id, signal: 9 });
    await client.tasks.Wait({ containerId: id });
    await client.tasks.Delete({ containerId: id });
    await client.containers.Delete({ id });
    ids.splice(ids.indexOf(id), 1);
  };
  try {
    try {
      await client.waitForReady(10_000);
      await client.tasks.List({});
    } catch (e) {
      console.error(`note: berth-core's tasks do not answer (${e.message}); measuring the shims directly only`);
      return undefined;
    }
    await remove(await one()); // warm-up
    await sleep(1000);
    const before = smaps(child.pid);
    const plannerBefore = plannerMem();
    for (let i = 0; i < count; i++) await one();
    await sleep(1000);
    const shims = pidsByCmdline((a) => a[0].endsWith('berth-shim') && a.some((x) => x.startsWith(dir)));
    if (shims.length !== count) throw new Error(`expected ${count} berth-shims under the core, found ${shims.length}`);
    const per = shims.map(smaps);
    const after = smaps(child.pid);
    return { per, daemons: [{ name: 'berth-core', before, after }, { name: 'runtime planner', before: plannerBefore, after: plannerMem() }] };
  } finally {
    for (const id of [...ids]) { try { await remove(id); } catch (e) { console.error(`core remove ${id}: ${e.message}`); } }
    client.close();
    if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); }
    // shims outlive the core by design: remove what a failure left
    for (const p of pidsByCmdline((a) => a.some((x) => x.startsWith(dir)))) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    spawnSync('sh', ['-c', `for r in ${dir}/state/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNTIME} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
  }
}

// ----------------------------------------------------------- containerd ----

async function benchContainerd(rootfs) {
  const hostDirExisted = existsSync(HOST_CONTAINERD_DIR);
  const e = await Engines.start({ runtimes: {}, dockerd: false });
  let seq = 0;
  const ctr = (args) => {
    const r = e.ctr(['-n', CTR_NAMESPACE, ...args], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const one = () => {
    const id = `bench-mem-${seq++}`;
    ctr(['run', '-d', '--rootfs', '--fifo-dir', e.fifoDir, '--cgroup', `${e.cgroupParent}/${id}`, rootfs, id, '/bin/sleep', '1000']);
    return id;
  };
  const shimPids = () => pidsByCmdline((a) => a[0].endsWith('containerd-shim-runc-v2') && a.includes(e.containerdSock) && !a.includes('start'));
  try {
    const daemon = pidsMentioning(join(e.dir, 'containerd', 'config.toml'))[0];
    const warm = one();
    ctr(['tasks', 'kill', '-s', 'SIGKILL', warm]);
    for (let i = 0; i < 50 && ctr(['tasks', 'ls', '-q']).includes(warm) && !ctr(['tasks', 'ls']).includes('STOPPED'); i++) await sleep(50);
    ctr(['tasks', 'delete', '-f', warm]);
    ctr(['containers', 'delete', warm]);
    await sleep(500);
    const before = smaps(daemon);
    for (let i = 0; i < count; i++) one();
    await sleep(500);
    const pids = shimPids();
    if (pids.length !== count) throw new Error(`expected ${count} containerd shims, found ${pids.length}`);
    const per = pids.map(smaps);
    const after = smaps(daemon);
    return { per, daemons: [{ name: 'containerd', before, after }] };
  } finally {
    await e.stop();
    // the shim's runc keeps its state under /run/containerd/runc/<namespace>, which stop() leaves
    if (!hostDirExisted) {
      for (const d of [`runc/${CTR_NAMESPACE}`, 'runc', 's', 'fifo', '.']) { try { rmdirSync(join(HOST_CONTAINERD_DIR, d)); } catch { /* absent or in use */ } }
    }
    const left = e.leftovers();
    if (left.length) console.error(`containerd leftovers: ${left.join('; ')}`);
  }
}

// --------------------------------------------------------------- conmon ----

async function benchConmon(rootfs, work) {
  if (!existsSync('/usr/bin/conmon') || !existsSync('/usr/bin/podman')) return undefined;
  const dir = join(work, 'podman');
  const cgroupParent = `/berth-bench-podman-${process.pid}`;
  mkdirSync(dir);
  // a private podman: its own storage, run dir, tmp dir and event log; no network, plain cgroupfs
  const podmanArgs = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'),
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', RUNC, '--storage-driver', 'vfs'];
  const podman = (args) => run('/usr/bin/podman', [...podmanArgs, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: join(dir, 'xdg'), CONTAINERS_CONF: join(dir, 'containers.conf') } });
  writeFileSync(join(dir, 'containers.conf'), `[engine]\nevents_logfile_path = "${join(dir, 'events.log')}"\n`);
  const one = () => podman(['run', '-d', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--cgroup-parent', cgroupParent, '--rootfs', rootfs, '/bin/sleep', '1000']).trim();
  const conmons = () => pidsByCmdline((a) => a[0].endsWith('conmon') && a.some((x) => x.startsWith(dir)));
  try {
    const warm = one();
    podman(['rm', '-f', '-t', '0', warm]);
    for (let i = 0; i < count; i++) one();
    await sleep(500);
    const pids = conmons();
    if (pids.length !== count) throw new Error(`expected ${count} conmons, found ${pids.length}`);
    return { per: pids.map(smaps), daemons: [] };
  } finally {
    try { podman(['rm', '-a', '-f', '-t', '0']); } catch (e) { console.error(`podman rm: ${e.message}`); }
    for (const p of conmons()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    for (let i = 0; i < 50 && conmons().length; i++) await sleep(100);
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(dir)).reverse()) {
      spawnSync('umount', ['-l', m]);
    }
    // a conmon leaves its cgroup a moment after its container is removed
    for (let i = 0; i < 50 && removeCgroupTree(cgroupParent); i++) await sleep(100);
  }
}

// ----------------------------------------------------------------- main ----

function summary(name, r) {
  const growth = r.daemons.reduce((a, d) => a + d.after.uss - d.before.uss, 0);
  const growthPss = r.daemons.reduce((a, d) => a + d.after.pss - d.before.pss, 0);
  return {
    name,
    shimUssKiB: +mean(r.per, 'uss').toFixed(0),
    shimPssKiB: +mean(r.per, 'pss').toFixed(0),
    shimRssKiB: +mean(r.per, 'rss').toFixed(0),
    shimUssMaxKiB: Math.max(...r.per.map((x) => x.uss)),
    daemon: r.daemons.map((d) => `${d.name} ${d.after.uss - d.before.uss}`).join(', ') || '—',
    daemonUssKiB: Object.fromEntries(r.daemons.map((d) => [d.name, { before: d.before.uss, after: d.after.uss }])),
    daemonUssGrowthKiB: growth,
    daemonPssGrowthKiB: growthPss,
    totalPerContainerKiB: +(mean(r.per, 'uss') + growth / count).toFixed(0),
  };
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-mem-'));
const bundle = makeBundle(['sleep', '1000'], 'berth-bench-rootfs-');
const rows = [];
let failed = false;
try {
  rows.push(summary('berth-shim direct (planner growth)', await benchBerth(bundle.rootfs, work)));
  const core = await benchBerthCore(bundle.rootfs, work);
  if (core) rows.push(summary('berth-core + berth-shim', core));
  rows.push(summary('containerd (containerd-shim-runc-v2)', await benchContainerd(bundle.rootfs)));
  const c = await benchConmon(bundle.rootfs, work);
  if (c) rows.push(summary('podman (conmon)', c));
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  removeBundle(bundle);
  rmSync(work, { recursive: true, force: true });
}

console.log(JSON.stringify({ containers: count, rows }, null, 2));
console.log('\n| engine | shim USS (KiB, mean) | shim PSS | shim RSS | daemons\' USS growth, 0 → N (KiB) | growth / container | total per container (KiB) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.shimUssKiB} | ${r.shimPssKiB} | ${r.shimRssKiB} | ${r.daemon} | ${(r.daemonUssGrowthKiB / count).toFixed(0)} | ${r.totalPerContainerKiB} |`);
}
// the core's row is the comparison once it exists: that is how containers are made
const b = rows.find((r) => r.name.startsWith('berth-core')) ?? rows.find((r) => r.name.startsWith('berth'));
const c = rows.find((r) => r.name.startsWith('containerd'));
const p = rows.find((r) => r.name.startsWith('podman'));
if (b && c) {
  console.log(`\nberth shim USS ${b.shimUssKiB} KiB (max ${b.shimUssMaxKiB}; target <= 1024)`);
  console.log(`berth total per container / containerd's: ${(b.totalPerContainerKiB / c.totalPerContainerKiB).toFixed(3)} (target <= 0.5)`);
  console.log(`berth shim USS / containerd-shim USS: ${(b.shimUssKiB / c.shimUssKiB).toFixed(3)}`);
}
if (b && p) console.log(`berth shim USS / conmon USS: ${(b.shimUssKiB / p.shimUssKiB).toFixed(3)}`);
if (failed) process.exitCode = 1;
