#!/usr/bin/env node
// bench/runtime: `berth-runtime run` against `runc run` on the same busybox
// bundle running `true`, interleaved pairs (order alternating), median ratio.
// Also the peak RSS of each command (largest process of its tree that the
// command waited for), and the warm planner's RSS, which berth-runtime
// shares between all calls.
//   node bench/runtime.mjs [pairs=30]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, chmodSync, symlinkSync, writeFileSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const berth = join(repo, 'bin', 'berth-runtime');
const runc = process.env.RUNC ?? '/usr/sbin/runc';
const pairs = Number(process.argv[2] ?? 30);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const rootfs = join(dir, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
symlinkSync('busybox', join(rootfs, 'bin', 'true'));
symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
// the config runc spec writes, with `true` and no terminal
const spec = spawnSync(runc, ['spec', '--bundle', dir]);
if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr}`);
const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
cfg.process.terminal = false;
cfg.process.args = ['true'];
writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));

const roots = { berth: mkdtempSync(join(tmpdir(), 'berth-bench-root-')), runc: mkdtempSync(join(tmpdir(), 'runc-bench-root-')) };
const bins = { berth, runc };
// GNU time reports the peak RSS (KiB) of the command it waited for; its own
// footprint is tiny and the same for both runtimes.
const TIME = '/usr/bin/time';

let seq = 0;
function once(kind) {
  const id = `bench-${kind}-${process.pid}-${seq++}`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', bins[kind], '--root', roots[kind], 'run', '--bundle', dir, id], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${kind} run failed (${r.status}): ${r.stderr}`);
  return { ms, rssKiB: Number(r.stderr.trim().split('\n').pop()) };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// warm-up: page cache, and berth's planner daemon
for (let i = 0; i < 3; i++) { once('runc'); once('berth'); }
const t = { berth: [], runc: [] };
const rss = { berth: [], runc: [] };
const ratios = [];
for (let i = 0; i < pairs; i++) {
  const order = i % 2 ? ['berth', 'runc'] : ['runc', 'berth'];
  const got = {};
  for (const k of order) { got[k] = once(k); t[k].push(got[k].ms); rss[k].push(got[k].rssKiB); }
  ratios.push(got.berth.ms / got.runc.ms);
}
let plannerRss = 0;
for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
  try {
    if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('berth-runtime-planner')) {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) plannerRss = Math.max(plannerRss, Number(m[1]));
    }
  } catch { /* exited */ }
}
rmSync(dir, { recursive: true, force: true });
for (const r of Object.values(roots)) rmSync(r, { recursive: true, force: true });

const result = {
  pairs,
  medianMs: { berth: +median(t.berth).toFixed(2), runc: +median(t.runc).toFixed(2) },
  medianRatio: +median(ratios).toFixed(3),
  peakRssKiB: { berthFront: Math.max(...rss.berth), runc: Math.max(...rss.runc) },
  plannerRssKiB: plannerRss,
};
console.log(JSON.stringify(result, null, 2));
console.log(`berth-runtime run / runc run: median ratio ${result.medianRatio} over ${pairs} interleaved pairs (target <= 1.0)`);
