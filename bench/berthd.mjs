#!/usr/bin/env node
// bench/berthd: the engine against Docker, side by side in one run.
// Starts a private Debian dockerd (+ its own containerd) and a private berthd
// (+ its own berth-core), each on its own data root, with the same busybox
// image in both (bench/engine-env.mjs), then:
//   start       `run --rm busybox true`, interleaved rounds with rotating
//               order: berth CLI → berthd, docker CLI → berthd, docker CLI →
//               dockerd; medians and median per-round ratios to docker→dockerd;
//   throughput  50 `run -d busybox sleep 1000` by 4 parallel clients, then 50
//               `rm -f` by 4 parallel clients, per engine, interleaved rounds:
//               containers per second (start+remove) and the ratio;
//   many        100 running containers in each engine (made by 4 clients):
//               `ps` and `inspect <one>` medians (interleaved), and memory:
//               idle USS/PSS/RSS of berthd + berth-core against dockerd +
//               containerd (before the containers), per container = daemons'
//               USS growth / 100 + the mean shim USS (berth-shim against
//               containerd-shim-runc-v2).
// (`logs` of 100 MB: bench/logs.mjs.)
//   node --import tsx bench/berthd.mjs [--rounds 12] [--tp-rounds 3] [--only start,throughput,many]
// Needs root, a build (flock /tmp/berth-build.lock npm run build), docker.io,
// /usr/local/bin/docker. Everything started is removed at the end.
import { Bench, median, fmt, smaps, IMAGE } from './engine-env.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const rounds = Number(opt('rounds', 12));
const tpRounds = Number(opt('tp-rounds', 3));
const only = opt('only', 'start,throughput,many').split(',');
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Median over rounds of each way, and median of per-round ratios to `ref`. */
function summarise(times, ref) {
  const out = {};
  for (const [k, v] of Object.entries(times)) {
    out[k] = { median: median(v), ratio: median(v.map((x, i) => x / times[ref][i])) };
  }
  return out;
}

function printTable(title, unit, s) {
  console.log(`\n${title}`);
  console.log(`| way | median ${unit} | ratio to docker→dockerd (median of rounds) |`);
  console.log('|---|---|---|');
  for (const [k, v] of Object.entries(s)) console.log(`| ${k} | ${fmt(v.median)} | ${fmt(v.ratio, 3)} |`);
}

async function benchStart(b) {
  const ways = { 'berth → berthd': b.berth, 'docker → berthd': b.dockerB, 'docker → dockerd': b.docker };
  const names = Object.keys(ways);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const once = async (n) => {
    const r = await ways[n](['run', '--rm', IMAGE, 'true']);
    if (r.stdout !== '') throw new Error(`${n}: run true printed ${JSON.stringify(r.stdout)}`);
    return r.ms;
  };
  for (const n of names) { await once(n); await once(n); } // warm-up
  for (let i = 0; i < rounds; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const n of order) times[n].push(await once(n));
    log(`start round ${i + 1}/${rounds}:`, order.map((n) => `${n} ${times[n].at(-1).toFixed(0)}`).join(', '));
  }
  const s = summarise(times, 'docker → dockerd');
  printTable('## run --rm busybox true (ms)', 'ms', s);
  return s;
}

/** `count` containers `run -d`'d by `clients` parallel workers; resolves their ids. */
async function startMany(cli, count, clients, prefix) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await cli(['run', '-d', '--name', `${prefix}-${i}`, IMAGE, 'sleep', '1000']);
      ids.push(r.stdout.trim());
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return ids;
}

async function removeMany(cli, ids, clients) {
  const queue = [...ids];
  const worker = async () => { while (queue.length > 0) await cli(['rm', '-f', queue.shift()]); };
  await Promise.all(Array.from({ length: clients }, worker));
}

async function benchThroughput(b) {
  const ways = { 'docker → berthd': b.dockerB, 'berth → berthd': b.berth, 'docker → dockerd': b.docker };
  const names = Object.keys(ways);
  const rate = Object.fromEntries(names.map((n) => [n, []]));
  const phases = Object.fromEntries(names.map((n) => [n, { start: [], remove: [] }]));
  for (let i = 0; i < tpRounds; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const n of order) {
      const t0 = performance.now();
      const ids = await startMany(ways[n], 50, 4, `tp${i}`);
      const t1 = performance.now();
      const running = (await ways[n](['ps', '-q', '--filter', `name=tp${i}-`])).stdout.split('\n').filter(Boolean).length;
      if (running !== 50) throw new Error(`${n}: ${running} of 50 containers running`);
      const t2 = performance.now();
      await removeMany(ways[n], ids, 4);
      const t3 = performance.now();
      const left = (await ways[n](['ps', '-aq'])).stdout.trim();
      if (left !== '') throw new Error(`${n}: containers left after rm: ${left}`);
      phases[n].start.push(t1 - t0);
      phases[n].remove.push(t3 - t2);
      rate[n].push(50 / ((t1 - t0 + t3 - t2) / 1000));
      log(`throughput round ${i + 1}/${tpRounds} ${n}: start ${(t1 - t0).toFixed(0)} ms, rm ${(t3 - t2).toFixed(0)} ms, ${rate[n].at(-1).toFixed(2)}/s`);
    }
  }
  console.log('\n## 50 containers run -d, then rm -f, 4 parallel clients');
  console.log('| way | start 50 (s) | remove 50 (s) | containers/s | throughput ratio to docker→dockerd |');
  console.log('|---|---|---|---|---|');
  const ref = 'docker → dockerd';
  const out = {};
  for (const n of names) {
    const ratio = median(rate[n].map((x, i) => x / rate[ref][i]));
    out[n] = { start: median(phases[n].start), remove: median(phases[n].remove), rate: median(rate[n]), ratio };
    console.log(`| ${n} | ${fmt(out[n].start / 1000, 2)} | ${fmt(out[n].remove / 1000, 2)} | ${fmt(out[n].rate, 2)} | ${fmt(ratio, 2)} |`);
  }
  return out;
}

const memOf = (pids) => pids.map(smaps).reduce((a, m) => ({ uss: a.uss + m.uss, pss: a.pss + m.pss, rss: a.rss + m.rss }), { uss: 0, pss: 0, rss: 0 });

function daemonsMem(b) {
  const bp = b.berthPids();
  const dp = b.dockerPids();
  return {
    berthd: memOf(bp.berthd), core: memOf(bp.core),
    dockerd: memOf(dp.dockerd), containerd: memOf(dp.containerd),
  };
}

async function benchMany(b) {
  const N = 100;
  // Warm both (page cache, first container's lazy set-up), then the idle figure.
  await b.dockerB(['run', '--rm', IMAGE, 'true']);
  await b.docker(['run', '--rm', IMAGE, 'true']);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = daemonsMem(b);
  log('idle', JSON.stringify(idle));
  const made = {};
  for (const [n, cli] of [['berthd', b.dockerB], ['dockerd', b.docker]]) {
    const t0 = performance.now();
    made[n] = await startMany(cli, N, 4, 'many');
    log(`${n}: ${N} containers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const loaded = daemonsMem(b);
  const bShims = b.berthShims().map(smaps);
  const dShims = b.dockerShims().map(smaps);
  log(`shims: berth ${bShims.length}, containerd ${dShims.length}`);

  const ways = { 'docker → berthd': b.dockerB, 'berth → berthd': b.berth, 'docker → dockerd': b.docker };
  const names = Object.keys(ways);
  const ps = Object.fromEntries(names.map((n) => [n, []]));
  const inspect = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const n of order) {
      const r = await ways[n](['ps']);
      const lines = r.stdout.trim().split('\n').length - 1;
      if (lines !== N) throw new Error(`${n}: ps listed ${lines} containers, expected ${N}`);
      ps[n].push(r.ms);
      const q = await ways[n](['inspect', 'many-7']);
      const doc = JSON.parse(q.stdout);
      if (doc[0]?.State?.Status !== 'running' || doc[0]?.Name !== '/many-7') throw new Error(`${n}: inspect many-7 gave ${q.stdout.slice(0, 200)}`);
      inspect[n].push(q.ms);
    }
  }
  const sps = summarise(ps, 'docker → dockerd');
  const sin = summarise(inspect, 'docker → dockerd');
  printTable(`## ps with ${N} running containers (ms)`, 'ms', sps);
  printTable('## inspect of one container (ms)', 'ms', sin);

  const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / Math.max(1, xs.length);
  const berthGrowth = (loaded.berthd.uss + loaded.core.uss) - (idle.berthd.uss + idle.core.uss);
  const dockerGrowth = (loaded.dockerd.uss + loaded.containerd.uss) - (idle.dockerd.uss + idle.containerd.uss);
  const berthPer = berthGrowth / N + mean(bShims, 'uss');
  const dockerPer = dockerGrowth / N + mean(dShims, 'uss');
  console.log('\n## memory (KiB)');
  console.log('| figure | Berth | Docker | ratio |');
  console.log('|---|---|---|---|');
  const row = (label, x, y) => console.log(`| ${label} | ${fmt(x, 0)} | ${fmt(y, 0)} | ${fmt(x / y, 3)} |`);
  row('idle USS berthd + berth-core / dockerd + containerd', idle.berthd.uss + idle.core.uss, idle.dockerd.uss + idle.containerd.uss);
  row('idle PSS', idle.berthd.pss + idle.core.pss, idle.dockerd.pss + idle.containerd.pss);
  row('idle RSS', idle.berthd.rss + idle.core.rss, idle.dockerd.rss + idle.containerd.rss);
  row(`  berthd / dockerd USS`, idle.berthd.uss, idle.dockerd.uss);
  row(`  berth-core / containerd USS`, idle.core.uss, idle.containerd.uss);
  row(`daemons' USS growth 0 → ${N}`, berthGrowth, dockerGrowth);
  row('shim USS (mean)', mean(bShims, 'uss'), mean(dShims, 'uss'));
  row('shim PSS (mean)', mean(bShims, 'pss'), mean(dShims, 'pss'));
  row('shim RSS (mean)', mean(bShims, 'rss'), mean(dShims, 'rss'));
  row('**per container** (growth / N + shim USS)', berthPer, dockerPer);

  for (const [n, cli] of [['berthd', b.dockerB], ['dockerd', b.docker]]) await removeMany(cli, made[n], 4);
  return { ps: sps, inspect: sin, idle, loaded, berthPer, dockerPer };
}

const b = await Bench.start({ log });
try {
  console.log(`# bench/berthd ${new Date().toISOString()} — ${(await import('node:os')).cpus().length} cores, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  if (only.includes('start')) await benchStart(b);
  if (only.includes('throughput')) await benchThroughput(b);
  if (only.includes('many')) await benchMany(b);
} finally {
  log('cleaning up …');
  await b.stop();
}
