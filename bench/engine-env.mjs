// bench/engine-env: what bench/berthd.mjs and bench/logs.mjs share — a private
// Debian dockerd (+ its own containerd, tests/helpers/engines.ts) and a private
// berthd (tests/helpers/berthd.ts, its own berth-core), each with its own data
// root, the same busybox image in both (built from /bin/busybox into dockerd,
// `docker save`, then `docker load` into berthd), CLI runners, timing and
// memory helpers. `stop()` removes everything `start()` made.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engines } from '../tests/helpers/engines.js';
import { layout, spawnBerthd, ready, stop as stopBerthd, corePids, leftovers } from '../tests/helpers/berthd.js';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DOCKER = '/usr/local/bin/docker';
export const BERTH = join(repo, 'bin', 'berth');
export const IMAGE = 'busybox:latest';

export const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');

/** USS, PSS and RSS of a process in KiB (0s when it is gone). */
export function smaps(pid) {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { return { uss: 0, pss: 0, rss: 0 }; }
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { uss: kb('Private_Clean') + kb('Private_Dirty'), pss: kb('Pss'), rss: kb('Rss') };
}

export function pidsByCmdline(test) {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (test(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'))) out.push(Number(p)); } catch { /* exited */ }
  }
  return out;
}

/** Runs a command to completion (async, so clients can run in parallel); resolves { code, stdout, stderr, ms }. */
export function exec(cmd, args, env, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let outBytes = 0;
    child.stdout?.on('data', (d) => { outBytes += d.length; if (!opts.discard) out.push(d); });
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({
      code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), outBytes,
      ms: Number(process.hrtime.bigint() - t0) / 1e6,
    }));
  });
}

/** A CLI bound to one engine: docker or berth binary, -H the engine's socket. */
export function client(binary, sock, configDir) {
  const env = { ...process.env, DOCKER_CONFIG: configDir, BERTH_CONFIG: configDir };
  delete env.DOCKER_HOST;
  delete env.BERTH_HOST;
  const cli = async (args, opts = {}) => {
    const r = await exec(binary, ['-H', `unix://${sock}`, ...args], env, opts);
    if (r.code !== 0 && !opts.allowFail) throw new Error(`${binary} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  return cli;
}

export class Bench {
  static async start({ log = console.error } = {}) {
    const b = new Bench();
    b.dir = mkdtempSync(join(tmpdir(), 'berth-bench-engine-'));
    b.cliConfig = join(b.dir, 'cli');
    mkdirSync(b.cliConfig);
    try {
      log('starting dockerd (+containerd) …');
      b.engines = await Engines.start({ runtimes: {}, dockerd: true });
      log('starting berthd …');
      b.layout = layout(join(b.dir, 'berthd'));
      mkdirSync(b.layout.dir);
      b.berthd = await ready(spawnBerthd(b.layout), 60_000);
      b.docker = client(DOCKER, b.engines.dockerSock, b.cliConfig); // docker CLI → dockerd
      b.dockerB = client(DOCKER, b.layout.sock, b.cliConfig); // docker CLI → berthd
      b.berth = client(BERTH, b.layout.sock, b.cliConfig); // berth CLI → berthd
      log('loading busybox into both …');
      b.engines.buildImage(IMAGE);
      const tar = join(b.dir, 'busybox.tar');
      await b.docker(['save', '-o', tar, IMAGE]);
      await b.dockerB(['load', '-i', tar]);
      const seen = (await b.dockerB(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout;
      if (!seen.includes(IMAGE)) throw new Error(`berthd does not list ${IMAGE} after load: ${seen}`);
      return b;
    } catch (err) {
      await b.stop();
      throw err;
    }
  }

  /** Pids of the Berth daemons (berthd, its berth-core). */
  berthPids() { return { berthd: [this.berthd.proc.pid], core: corePids(this.layout) }; }

  /** Pids of the Docker daemons (dockerd, its containerd). */
  dockerPids() {
    const dockerd = pidsByCmdline((a) => a[0] === '/usr/sbin/dockerd' && a.join(' ').includes(this.engines.dir));
    const containerd = pidsByCmdline((a) => a[0] === '/usr/bin/containerd' && a.join(' ').includes(this.engines.dir));
    return { dockerd, containerd };
  }

  /** berth-shim pids of berthd's core; containerd-shim-runc-v2 pids of our containerd. */
  berthShims() { return pidsByCmdline((a) => a[0].endsWith('berth-shim') && a.join(' ').includes(this.layout.dir)); }
  dockerShims() { return pidsByCmdline((a) => a[0].endsWith('containerd-shim-runc-v2') && a.join(' ').includes(this.engines.containerdSock)); }

  async removeAll() {
    for (const cli of [this.docker, this.dockerB]) {
      if (!cli) continue;
      const ids = (await cli(['ps', '-aq'], { allowFail: true })).stdout.split('\n').filter(Boolean);
      for (let i = 0; i < ids.length; i += 50) await cli(['rm', '-f', ...ids.slice(i, i + 50)], { allowFail: true });
    }
  }

  async stop() {
    try { await this.removeAll(); } catch { /* daemons may be gone */ }
    if (this.berthd) {
      const cores = corePids(this.layout);
      try { await stopBerthd(this.berthd); } catch (err) { console.error(String(err)); }
      for (const p of [...cores, ...leftovers(this.layout)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      await new Promise((r) => setTimeout(r, 300));
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir)).sort((a, b) => b.length - a.length);
      for (const m of mounts) spawnSync('umount', ['-l', m]);
    }
    if (this.engines) await this.engines.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
