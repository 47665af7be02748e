#!/usr/bin/env node
// bench/all: every benchmark of the earlier issues in one run, Berth against
// Debian's Docker and Podman on the same busybox image, written as one table
// into bench/RESULTS.md (between its bench/all markers) with PNG plots in
// bench/plots/ and the raw samples in bench/plots/all-<mode>.json.
//   bench/all [--quick] [--only start,throughput,ramp,logs,pull,sandbox,vm] [--no-write]
// Engines (all three on the same machine at once, each on its own temp dirs):
//   Berth   the docker CLI → a private berthd (+ its own berth-core): the same
//           client as Docker, so the engine is what differs;
//   Docker  the docker CLI → a private Debian dockerd (+ its own containerd);
//   Podman  Debian's podman, rootful, private root/runroot, overlay, runc.
// Every container runs with `--network none` (Podman's bridge would touch the
// host's CNI state; the same work in all three). Engine rows are interleaved
// rounds with rotating order; ratios are medians of per-round ratios.
// Syscall interception (bench/sandbox.mjs) and VM boot (bench/vm.mjs) run as
// child processes after the engines are gone; their printed tables are parsed.
// Everything started (dockerd, containerd, berthd, berth-core, podman
// containers, the registry, temp dirs, cgroups, mounts) is removed at the end,
// also on failure or SIGINT/SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bench, DOCKER, IMAGE, repo, smaps } from './engine-env.mjs';
import { Podman, podmanSkip } from './lib/podman.mjs';
import { median, medianRatio, quantile, rotation, renderBlock, replaceBlock } from './lib/table.js';
import { sandboxFigure, vmFigures } from './lib/parse.js';
import { memorySpec, startLatencySpec, writePng } from './lib/plot.mjs';
import { startRegistry } from '../tests/helpers/registry.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const QUICK = argv.includes('--quick');
const MODE = QUICK ? 'quick' : 'full';
const ALL_PHASES = ['start', 'throughput', 'ramp', 'logs', 'pull', 'sandbox', 'vm'];
const phases = opt('only', ALL_PHASES.join(',')).split(',');
const P = QUICK
  ? { startRounds: 5, tpCount: 20, tpRounds: 1, steps: [0, 10, 20], psAt: 20, psRounds: 3, logsMb: 5, logsRounds: 1, pullRounds: 1, sandboxRounds: 2, vmRounds: 1 }
  : { startRounds: 30, tpCount: 50, tpRounds: 3, steps: [0, 50, 100, 150, 200], psAt: 100, psRounds: 10, logsMb: 100, logsRounds: 3, pullRounds: 3, sandboxRounds: 7, vmRounds: 5 };
const CLIENTS = 4;
const ENGINES = ['Berth', 'Docker', 'Podman'];
const PLOTS = join(repo, 'bench', 'plots');
const RESULTS = join(repo, 'bench', 'RESULTS.md');
const t0 = Date.now();
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const rows = [];
const notes = [];
const loads = [];
const raw = { mode: MODE, params: P, samples: {} };
let failed = false;
/** CPU time (all CPUs) and the idle part of it, from /proc/stat. */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4] };
}

/** Waits until the CPUs were at least 80% idle over 2 s, or for at most ms. */
async function quiet(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const a = cpuTimes();
    await sleep(2000);
    const b = cpuTimes();
    const idle = (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (idle >= 0.8) return;
    log(`waiting for a quiet machine (idle ${(idle * 100).toFixed(0)}%)`);
  }
}

const noteLoad = (phase) => { const l = loadavg(); loads.push(`${phase} ${l}`); log(`load ${l} (${phase})`); };

// ----------------------------------------------------------------- engines ----

const env = { bench: undefined, podman: undefined, registry: undefined };
let cleaning;
let aborting = false; // set by a signal: no new engine command starts
let inFlight = 0; // engine CLI commands running; cleanup waits for them, or a late `run` would outlive it
function cleanup() {
  cleaning ??= (async () => {
    for (const k of ['podman', 'bench', 'registry']) {
      for (let i = 0; i < 300 && inFlight > 0; i++) await sleep(100);
      try { await env[k]?.stop(); } catch (e) { console.error(`cleanup ${k}: ${e.message}`); }
      env[k] = undefined;
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { aborting = true; log(`${sig}: cleaning up`); cleanup().finally(() => process.exit(130)); });

/** An engine CLI that refuses to start once interrupted, and is counted while it runs. */
function tracked(cli) {
  return async (args, opts) => {
    if (aborting) throw new Error('interrupted');
    inFlight++;
    try { return await cli(args, opts); } finally { inFlight--; }
  };
}

/** The three engines' CLIs, each with the docker grammar. */
function clis() {
  const out = { Berth: tracked(env.bench.dockerB), Docker: tracked(env.bench.docker) };
  if (env.podman) out.Podman = tracked(env.podman.cli);
  return out;
}
const present = () => Object.keys(clis());

/** Sum of USS (KiB) of the engine's resident processes: daemons and per-container shims. */
function engineUss(name) {
  const b = env.bench;
  const pids = name === 'Berth' ? [...b.berthPids().berthd, ...b.berthPids().core, ...b.berthShims()]
    : name === 'Docker' ? [...b.dockerPids().dockerd, ...b.dockerPids().containerd, ...b.dockerShims()]
      : env.podman.conmons(); // podman has no daemon: conmon is what stays per container
  return pids.reduce((s, p) => s + smaps(p).uss, 0);
}

/** `count` containers `run -d` by CLIENTS parallel workers; their ids. */
async function startMany(cli, count, args) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const r = await cli(['run', '-d', '--network', 'none', IMAGE, ...args]);
      ids.push(r.stdout.trim());
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return ids;
}

async function removeMany(cli, ids) {
  let next = 0;
  const worker = async () => { while (next < ids.length) { const id = ids[next++]; await cli(['rm', '-f', id]); } };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
}

async function runningIds(cli) {
  return (await cli(['ps', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
}

/** Per-engine samples of one measure, interleaved in rounds with rotating order. */
async function interleaved(label, rounds, once, engines = present()) {
  const s = Object.fromEntries(engines.map((e) => [e, []]));
  for (let i = 0; i < rounds; i++) {
    for (const e of rotation(engines, i)) s[e].push(await once(e));
    log(`${label} ${i + 1}/${rounds}: ${engines.map((e) => `${e} ${s[e].at(-1).toFixed(1)}`).join(', ')}`);
  }
  raw.samples[label] = s;
  return s;
}

/** A table row from interleaved samples (lower is better unless higherIsBetter). */
function engineRow(work, unit, s, how, higherIsBetter = false) {
  const cell = (e) => (s[e] ? { value: median(s[e]) } : { value: NaN, note: `n/a (${podmanSkip || 'not measured'})` });
  const ratio = (ref) => (s[ref] ? (higherIsBetter ? medianRatio(s[ref], s.Berth) : medianRatio(s.Berth, s[ref])) : NaN);
  return { work, unit, higherIsBetter, berth: cell('Berth'), docker: cell('Docker'), podman: cell('Podman'), ratioDocker: ratio('Docker'), ratioPodman: ratio('Podman'), how };
}

function failedRow(work, err) {
  failed = true;
  log(`${work} failed: ${err.stack ?? err}`);
  notes.push(`${work}: failed in this run — ${String(err.message ?? err).split('\n')[0].slice(0, 300)}`);
  const na = { value: NaN, note: 'failed' };
  return { work, unit: '', berth: na, docker: na, podman: na, how: 'see the note below' };
}

async function phase(name, work, fn) {
  if (!phases.includes(name) || aborting) return;
  noteLoad(name);
  try { await fn(); } catch (err) { rows.push(failedRow(work, err)); }
}

// ------------------------------------------------------------------ phases ----

async function benchStart() {
  const once = async (e) => {
    const r = await clis()[e](['run', '--rm', '--network', 'none', IMAGE, 'true']);
    if (r.stdout !== '') throw new Error(`${e}: run true printed ${JSON.stringify(r.stdout)}`);
    return r.ms;
  };
  for (const e of present()) { await once(e); await once(e); } // warm-up: caches, first cgroups
  const s = await interleaved('start', P.startRounds, once);
  rows.push(engineRow('start latency: `run --rm busybox true`', 'ms', s,
    `${P.startRounds} rounds; p10–p90 ${present().map((e) => `${e} ${quantile(s[e], 0.1).toFixed(0)}–${quantile(s[e], 0.9).toFixed(0)}`).join(', ')}`));
  const file = 'plots/start-latency.png';
  await writePng(join(repo, 'bench', file), startLatencySpec(Object.entries(s).flatMap(([engine, xs]) => xs.map((ms) => ({ engine, ms }))),
    `run --rm busybox true, ${P.startRounds} interleaved rounds (${MODE}, load ${loadavg()})`));
  plots.push(file);
}

async function benchThroughput() {
  const n = P.tpCount;
  const once = async (e) => {
    const cli = clis()[e];
    const a = Date.now();
    const ids = await startMany(cli, n, ['sleep', '100000']);
    const up = await runningIds(cli);
    if (up.length !== n) throw new Error(`${e}: ${up.length} running after ${n} starts`);
    await removeMany(cli, ids);
    const left = (await cli(['ps', '-aq'])).stdout.trim();
    if (left !== '') throw new Error(`${e}: containers left after rm -f: ${left}`);
    return n / ((Date.now() - a) / 1000);
  };
  const s = await interleaved('throughput', P.tpRounds, once);
  rows.push(engineRow(`throughput: ${n} × \`run -d\` then ${n} × \`rm -f\`, ${CLIENTS} clients`, 'containers/s', s, `${P.tpRounds} round(s); checked: ${n} running, none left`, true));
}

/** Ramps each engine to each step of running `sleep` containers; memory at each, `ps`/`exec` at P.psAt. */
async function benchRamp() {
  const points = [];
  const ids = Object.fromEntries(present().map((e) => [e, []]));
  const mem = Object.fromEntries(present().map((e) => [e, {}]));
  for (const e of present()) { // one warm-up container each, so first-use allocations are not counted as growth
    const [id] = await startMany(clis()[e], 1, ['sleep', '100000']);
    await removeMany(clis()[e], [id]);
  }
  for (const [k, count] of P.steps.entries()) {
    for (const e of rotation(present(), k)) {
      ids[e].push(...await startMany(clis()[e], count - ids[e].length, ['sleep', '100000']));
    }
    await sleep(2000); // shims and daemons settle (lazy frees, GC)
    for (const e of present()) {
      const running = (await runningIds(clis()[e])).length;
      if (running !== count) throw new Error(`${e}: ${running} running, expected ${count}`);
      mem[e][count] = engineUss(e);
      points.push({ engine: e, count, mib: mem[e][count] / 1024 });
    }
    log(`ramp ${count}: ${present().map((e) => `${e} ${(mem[e][count] / 1024).toFixed(1)} MiB`).join(', ')}`);
    if (count === P.psAt) await psAndExec(count, ids);
  }
  raw.samples.memory = mem;
  const max = P.steps.at(-1);
  const per = Object.fromEntries(present().map((e) => [e, [(mem[e][max] - mem[e][0]) / max]]));
  rows.push(engineRow(`memory per container (${max} running \`sleep\`)`, 'KiB', per,
    `USS growth 0 → ${max} of berthd + berth-core + berth-shims / dockerd + containerd + shims / conmons (podman has no daemon), ÷ ${max}; idle ${present().map((e) => `${e} ${(mem[e][0] / 1024).toFixed(0)} MiB`).join(', ')}`));
  const file = 'plots/memory-vs-containers.png';
  await writePng(join(repo, 'bench', file), memorySpec(points, `engine memory against running containers (${MODE}, load ${loadavg()})`));
  plots.push(file);
  for (const e of present()) await removeMany(clis()[e], ids[e]);
}

async function psAndExec(count, ids) {
  noteLoad(`ps/exec at ${count}`);
  const ps = await interleaved('ps', P.psRounds, async (e) => {
    const r = await clis()[e](['ps']);
    const lines = r.stdout.trim().split('\n').length - 1;
    if (lines !== count) throw new Error(`${e}: ps listed ${lines}, expected ${count}`);
    return r.ms;
  });
  rows.push(engineRow(`\`ps\` with ${count} running`, 'ms', ps, `${P.psRounds} rounds; checked: ${count} listed`));
  const ex = await interleaved('exec', P.psRounds, async (e) => {
    const r = await clis()[e](['exec', ids[e][0], 'echo', 'ok']);
    if (r.stdout !== 'ok\n') throw new Error(`${e}: exec echo ok printed ${JSON.stringify(r.stdout)}`);
    return r.ms;
  });
  rows.push(engineRow(`\`exec <c> echo ok\` (${count} running)`, 'ms', ex, `${P.psRounds} rounds; output checked`));
}

async function benchLogs() {
  const bytes = P.logsMb * 1024 * 1024;
  // 17-byte lines: the issue's measurement (Docker's json-file grew to 511 MB for 100 MB), as
  // `bench/logs.mjs --line-bytes 17`; dockerd's cost is per line, so longer lines narrow the gap
  const line = 'x'.repeat(16);
  const script = `yes '${line}' | head -c ${bytes}`;
  const runS = {};
  const logsS = await interleaved('logs', P.logsRounds, async (e) => {
    const cli = clis()[e];
    const name = `bench-logs-${e.toLowerCase()}-${Date.now()}`;
    const run = await cli(['run', '--name', name, '--network', 'none', IMAGE, 'sh', '-c', script], { discard: true });
    if (run.outBytes !== bytes) throw new Error(`${e}: run attached passed ${run.outBytes} bytes, expected ${bytes}`);
    (runS[e] ??= []).push(run.ms / 1000);
    const r = await cli(['logs', name], { discard: true });
    await cli(['rm', '-f', name]);
    if (r.outBytes !== bytes) throw new Error(`${e}: logs gave ${r.outBytes} bytes, expected ${bytes}`);
    return r.ms / 1000;
  });
  raw.samples['run attached'] = runS;
  const how = `${P.logsRounds} round(s), 17-byte lines; byte count checked`;
  rows.push(engineRow(`\`run\` attached, ${P.logsMb} MB to stdout`, 's', runS, how));
  rows.push(engineRow(`\`logs\` of that container (${P.logsMb} MB)`, 's', logsS, how));
}

/** The image to pull: the Debian nginx image when its cached rootfs is there, else busybox. */
async function pullImage(reg) {
  const cache = '/var/cache/berth-tests';
  const tar = existsSync(cache) ? spawnSync('sh', ['-c', `ls -t ${cache}/nginx-rootfs-*.tar 2>/dev/null | head -1`], { encoding: 'utf8' }).stdout.trim() : '';
  const ref = `${reg.host}/bench/${tar ? 'nginx' : 'busybox'}:1`;
  const d = env.bench.docker;
  if (tar) await d(['import', '--change', 'CMD ["nginx","-g","daemon off;"]', tar, ref]);
  else await d(['tag', IMAGE, ref]);
  await d(['push', ref]);
  // dockerd must not keep the layers, or its pull would find them locally
  await d(['rmi', ref]);
  const size = tar ? `${Math.round(Number(spawnSync('stat', ['-c', '%s', tar], { encoding: 'utf8' }).stdout) / 1048576)} MB rootfs` : 'busybox';
  return { ref, what: tar ? `the Debian nginx image (one layer, ${size})` : 'busybox' };
}

async function benchPull() {
  env.registry = await startRegistry('anonymous');
  const { ref, what } = await pullImage(env.registry);
  const s = await interleaved('pull', P.pullRounds, async (e) => {
    const cli = clis()[e];
    await cli(['rmi', ref], { allowFail: true });
    const r = await cli(['pull', ...(e === 'Podman' ? ['--tls-verify=false'] : []), ref]);
    const seen = (await cli(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
    if (!seen) throw new Error(`${e}: pulled ${ref} is not listed`);
    await cli(['rmi', ref]);
    return r.ms / 1000;
  });
  rows.push(engineRow(`pull from a local registry`, 's', s, `${P.pullRounds} round(s); ${what}, \`rmi\` before each pull`));
  await env.registry.stop();
  env.registry = undefined;
}

/** Runs a child bench (node, tsx loaded) and returns its stdout; throws on failure or timeout. */
function child(script, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(repo, 'bench', script), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code, sig) => { clearTimeout(timer); code === 0 ? resolve(out) : reject(new Error(`bench/${script} exited ${code ?? sig}: ${out.slice(-500)}`)); });
  });
}

async function benchSandbox() {
  const out = await child('sandbox.mjs', [String(P.sandboxRounds)], 30 * 60_000);
  const [rtU, sbU] = sandboxFigure(out, 'uname (emulated), per call');
  const [rtO, sbO] = sandboxFigure(out, 'open+close (passed through), per pair');
  const [rtS, sbS] = sandboxFigure(out, 'run /bin/true (create+start+wait+delete)');
  const na = { value: NaN, note: 'n/a (runc: no interception)' };
  rows.push({ work: 'syscall interception: emulated `uname`, per call', unit: 'µs', berth: { value: sbU }, docker: na, podman: na,
    how: `berth-sandbox vs berth-runtime (native ${rtU.toFixed(2)} µs, ×${(sbU / rtU).toFixed(1)}); passed-through open+close ${sbO.toFixed(1)} vs ${rtO.toFixed(1)} µs; run /bin/true ${sbS.toFixed(0)} vs ${rtS.toFixed(0)} ms; gVisor published per syscall: ptrace ≈ 38 µs, KVM ≈ 0.76 µs; bench/sandbox.mjs ${P.sandboxRounds} rounds` });
}

async function benchVm() {
  const out = await child('vm.mjs', [String(P.vmRounds)], 30 * 60_000);
  const { vm, runc, accel } = vmFigures(out);
  const na = { value: NaN, note: 'n/a (no VM runtime here)' };
  rows.push({ work: `VM boot: berth-vm \`run\` → first output (${accel})`, unit: 'ms', berth: { value: vm }, docker: na, podman: na,
    how: `runc on the same bundle ${runc} ms (×${(vm / runc).toFixed(1)}); Kata Containers published ≈ 700 ms (QEMU on KVM); bench/vm.mjs ${P.vmRounds} round(s)` });
}

// -------------------------------------------------------------------- main ----

const plots = [];

function machine() {
  const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? '?';
  const deb = readFileSync('/etc/debian_version', 'utf8').trim();
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  const cg = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup v2' : 'cgroup v1';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Debian ${deb}, kernel ${kernel}, ${cg}`;
}

function versions() {
  const v = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  const commit = v('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  return `Berth ${commit} (berthd, docker CLI ${v(DOCKER, ['version', '--format', '{{.Client.Version}}'])}); Docker: Debian dockerd ${v('/usr/sbin/dockerd', ['--version']).replace(/^Docker version /, '').split(',')[0]} + containerd, runc; Podman ${v('/usr/bin/podman', ['--version']).replace(/^podman version /, '')} (runc, overlay, conmon).`;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/all needs root');
  for (const b of ['berthd', 'berth-sandbox', 'berth-vm', 'berth-shim']) {
    if (!existsSync(join(repo, 'bin', b))) throw new Error(`bin/${b} is missing: build first (flock /tmp/berth-build.lock npm run build)`);
  }
  mkdirSync(PLOTS, { recursive: true });
  const enginePhases = ['start', 'throughput', 'ramp', 'logs', 'pull'].filter((p) => phases.includes(p));
  if (enginePhases.length) {
    noteLoad('setup');
    env.bench = await Bench.start({ log });
    // the engines helper exits the process on a signal once dockerd is down, which
    // would cut short the removal of berthd's and podman's containers: cleanup() does it all
    const { onSignal } = env.bench.engines;
    if (onSignal) for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, onSignal);
    if (!podmanSkip) env.podman = await Podman.start(join(env.bench.dir, 'busybox.tar'), { log });
    else notes.push(`Podman not measured: ${podmanSkip}`);
    await phase('start', 'start latency', benchStart);
    await phase('throughput', 'throughput', benchThroughput);
    await phase('ramp', 'memory, ps, exec', benchRamp);
    // the ramp's 600 removals leave the engines busy for a while: the logs run is CPU-bound on
    // both engines' side, so it starts once the machine is quiet again (or after a minute)
    await quiet(60_000);
    await phase('logs', 'logs', benchLogs);
    await phase('pull', 'pull', benchPull);
    await cleanup();
  }
  await phase('sandbox', 'syscall interception', benchSandbox);
  await phase('vm', 'VM boot', benchVm);
  noteLoad('end');
}

try {
  await main();
} catch (err) {
  failed = true;
  log(`bench/all failed: ${err.stack ?? err}`);
  notes.push(`the run stopped early: ${String(err.message ?? err).split('\n')[0].slice(0, 300)}`);
} finally {
  await cleanup();
}

notes.unshift(
  'Berth is driven with the docker CLI (the same client as Docker) against berthd; every container has `--network none`, so the rows compare the engines, not their CLIs or networks (bench/berthd.mjs and bench/network.mjs measure those).',
  'The per-issue sections below keep their own, longer measurements (runtime vs runc, core vs containerd, images, logs at 100 MB, network, sandbox, VM).',
);
raw.rows = rows;
writeFileSync(join(PLOTS, `all-${MODE}.json`), `${JSON.stringify(raw, null, 1)}\n`);
const block = renderBlock(rows, {
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', mode: MODE, machine: machine(), versions: versions(),
  loads, durationS: (Date.now() - t0) / 1000, plots, notes,
});
console.log(block);
if (!argv.includes('--no-write')) {
  writeFileSync(RESULTS, replaceBlock(readFileSync(RESULTS, 'utf8'), block));
  log(`wrote the bench/all block into ${RESULTS}`);
}
process.exit(failed ? 1 : 0);
