#!/usr/bin/env node
// bench/cli-startup: the berth CLI's own cost, side by side with the docker
// CLI against the same private berthd (tests/helpers/berthd.ts, its own
// berth-core, data and exec roots), so the daemon's work is the same for
// both and the difference is the client: its start, its requests, its
// output. With --containers N (default 100) `sleep` containers running:
//   version  `berth --version` against `docker --version`, and `node -e 0`
//   ps       `ps` listing the N containers (output checked: N rows)
//   inspect  `inspect <one>` (output checked: its name)
//   run      `run --rm busybox true` (output checked: empty)
// Interleaved rounds with rotating order; medians and medians of per-round
// ratios to the docker CLI; the load average before and after each part.
// `--berth PATH` adds another berth binary (an older build) as a third way.
//   node --import tsx bench/cli-startup.mjs [--rounds 20] [--containers 100] [--only version,ps,inspect,run] [--berth PATH] [--gap 300]
// Needs root and a build. Everything started is removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layout, spawnBerthd, ready, stop as stopBerthd, corePids, leftovers, DOCKER } from '../tests/helpers/berthd.js';
import { REPO } from '../tests/helpers/runtime.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const rounds = Number(opt('rounds', 20));
const containers = Number(opt('containers', 100));
const only = opt('only', 'version,ps,inspect,run').split(',');
const other = opt('berth', undefined);
// A pause before every timed command (ms), the same for each way: a served
// zygote's successor needs ~50–100 ms to load, so back-to-back commands
// (--gap 0) measure that load rather than a warm start.
const gap = Number(opt('gap', 300));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BERTH = join(REPO, 'bin', 'berth');
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Runs one command; resolves with its wall time and output, rejects on a non-zero exit. */
function exec(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms, stdout });
    });
  });
}

/** A busybox rootfs tar (every applet a link), for `docker import`. */
function busyboxTar(dir) {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (a && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  }
  const tar = join(dir, 'busybox.tar');
  if (spawnSync('tar', ['-C', root, '-cf', tar, '.']).status !== 0) throw new Error('cannot build the busybox tar');
  return tar;
}

/** Times each way over interleaved rounds; `check` validates every output. */
async function measure(title, ways, check) {
  const names = Object.keys(ways);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const before = load();
  for (const n of names) check(n, (await ways[n]()).stdout); // warm-up (and the code cache's first write)
  for (let i = 0; i < rounds; i++) {
    for (const n of names.map((_, j) => names[(i + j) % names.length])) {
      if (gap > 0) await sleep(gap);
      const r = await ways[n]();
      check(n, r.stdout);
      times[n].push(r.ms);
    }
  }
  const ref = names.find((n) => n.startsWith('docker')) ?? names[0];
  console.log(`\n${title} (${rounds} rounds; load ${before} → ${load()})`);
  console.log(`| way | median ms | ratio to ${ref} (median of rounds) |`);
  console.log('|---|---|---|');
  for (const n of names) console.log(`| ${n} | ${median(times[n]).toFixed(1)} | ${median(times[n].map((x, i) => x / times[ref][i])).toFixed(3)} |`);
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-cli-'));
const l = layout(join(dir, 'berthd'));
mkdirSync(l.dir);
const env = { ...process.env, DOCKER_CONFIG: join(dir, 'cli'), BERTH_CONFIG: join(dir, 'cli') };
delete env.DOCKER_HOST;
delete env.BERTH_HOST;
mkdirSync(env.DOCKER_CONFIG);
let berthd;
const host = ['-H', `unix://${l.sock}`];
const docker = (...a) => exec(DOCKER, [...host, ...a], env);
try {
  log('starting berthd …');
  berthd = await ready(spawnBerthd(l), 60_000);
  await docker('import', busyboxTar(dir), 'busybox:latest');
  log(`starting ${containers} containers …`);
  for (let i = 0; i < containers; i += 4) {
    // named: berthd's generated names can collide between parallel creates
    await Promise.all(Array.from({ length: Math.min(4, containers - i) }, (_, j) => docker('run', '-d', '--name', `bench-${i + j}`, 'busybox', 'sleep', '100000')));
  }
  const one = (await docker('ps', '-q', '-n', '1')).stdout.trim();
  const name = (await docker('inspect', '-f', '{{.Name}}', one)).stdout.trim();
  const clis = { berth: BERTH, docker: DOCKER, ...(other ? { 'berth (other)': other } : {}) };
  const ways = (args, withHost = true) => ({
    ...Object.fromEntries(Object.entries(clis).map(([n, bin]) => [n, () => exec(bin, [...(withHost ? host : []), ...args], env)])),
    // bin/berth without its zygote: the launcher, as before the front existed
    'berth (no zygote)': () => exec(BERTH, [...(withHost ? host : []), ...args], { ...env, BERTH_NO_ZYGOTE: '1' }),
  });

  if (only.includes('version')) {
    await measure('`--version`', { ...ways(['--version'], false), 'node -e 0': () => exec(process.execPath, ['-e', '0'], env) }, (n, out) => {
      if (n !== 'node -e 0' && !/version/i.test(out)) throw new Error(`${n} --version printed ${JSON.stringify(out)}`);
    });
  }
  if (only.includes('ps')) {
    await measure(`\`ps\` with ${containers} running`, ways(['ps']), (n, out) => {
      const rows = out.trim().split('\n').length - 1;
      if (rows !== containers) throw new Error(`${n} ps listed ${rows}, want ${containers}`);
    });
  }
  if (only.includes('inspect')) {
    await measure('`inspect` of one', ways(['inspect', one]), (n, out) => {
      if (!out.includes(`"Name": "${name}"`) || !out.includes('"Status": "running"')) throw new Error(`${n} inspect: ${out.slice(0, 200)}`);
    });
  }
  if (only.includes('run')) {
    await measure('`run --rm busybox true`', ways(['run', '--rm', 'busybox', 'true']), (n, out) => {
      if (out !== '') throw new Error(`${n} run true printed ${JSON.stringify(out)}`);
    });
  }
} finally {
  log('cleaning up …');
  if (berthd) {
    try {
      const ids = (await docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
      for (let i = 0; i < ids.length; i += 50) await docker('rm', '-f', ...ids.slice(i, i + 50));
    } catch (err) { console.error(String(err)); }
    const cores = corePids(l);
    try { await stopBerthd(berthd); } catch (err) { console.error(String(err)); }
    for (const p of [...cores, ...leftovers(l)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 300));
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((x) => x.split(' ')[4]).filter((m) => m?.startsWith(dir)).sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  }
  rmSync(dir, { recursive: true, force: true });
}
