#!/usr/bin/env node
// bench/images: the image half of berth-core against the reference tools, in
// one run, on one machine:
//   pull    an image of two gzip layers — busybox, and ~200 MB of random bytes
//           (incompressible) — pushed once to Debian's docker-registry on
//           127.0.0.1: `berth-ctr images pull` (a fresh core and data root each round, answered
//           one `images ls` before the timed pull, as the warm dockerd has)
//           against `docker pull` (a private Debian dockerd on its own
//           temp roots; the image removed between rounds) and `skopeo copy
//           docker://… oci:<dir>`; interleaved rounds, rotating order, after
//           one warm-up round each; medians and ratios.
//   unpack  Berth's applyLayer (decompression, diff ID, extraction in one
//           pass) of the same 200 MB layer into a fresh directory against
//           `tar -xzf`, and of the uncompressed tar against `tar -xf`.
//   list    500 image records (tags on one small image) made through the API,
//           then Images.List through CoreClient, median of 10 calls (and
//           `berth-ctr images ls`, a fresh CLI process, for reference).
// Runs from the build (bin/, dist/); applyLayer and CoreClient, which no
// bundle exports, are bundled from src/ by esbuild into the temp dir first.
//   flock /tmp/berth-build.lock npm run build
//   node bench/images.mjs [rounds=3] [--only pull,unpack,list] [--mb 200] [--cpu-prof DIR]
// Needs root, /usr/bin/docker-registry, dockerd/containerd (docker.io), skopeo.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, copyFileSync, createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync,
  rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORE = join(repo, 'bin', 'berth-core');
const CTR = join(repo, 'bin', 'berth-ctr');
const REGISTRY = '/usr/bin/docker-registry';
const DOCKERD = '/usr/sbin/dockerd';
const CONTAINERD = '/usr/bin/containerd';
// Debian's CLI matches Debian's dockerd (20.10); a newer CLI negotiates down
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : '/usr/local/bin/docker';
const SKOPEO = '/usr/bin/skopeo';
const SANE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const args = process.argv.slice(2);
const flag = (name, dflt) => { const i = args.indexOf(name); if (i === -1) return dflt; const v = args[i + 1]; args.splice(i, 2); return v; };
const only = new Set(flag('--only', 'pull,unpack,list').split(','));
// --cpu-prof DIR: the pulling cores run under `node --cpu-prof` and leave their profiles in DIR
const cpuProf = flag('--cpu-prof', undefined);
const MB = Number(flag('--mb', '200'));
const rounds = Number(args[0] ?? 3);
const LIST_IMAGES = 500;
const LIST_CALLS = 10;

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const now = () => process.hrtime.bigint();
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (ms) => (ms / 1000).toFixed(2);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts, env: { ...process.env, PATH: SANE_PATH, ...(opts.env ?? {}) } });
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')}: ${r.error.message}`);
  return r;
}
function runOk(cmd, argv, opts = {}) {
  const r = run(cmd, argv, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r.stdout;
}
/** An async run, so the bench's own event loop (the core client) stays free while timing a CLI. */
function runAsync(cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...opts, env: { ...process.env, PATH: SANE_PATH, ...(opts.env ?? {}) } });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function sha256File(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk);
  return `sha256:${h.digest('hex')}`;
}

async function waitFor(what, ms, ok, log) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up in ${ms} ms${log && existsSync(log) ? `:\n${readFileSync(log, 'utf8').slice(-2000)}` : ''}`);
}

/** CPU time (user + system, reaped children included) of these processes so far, in ms (clock ticks of 10 ms). */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch { /* gone */ }
  }
  return ticks * 10;
}

function mountsUnder(dir) {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}

/** Children started here, killed (by pid) if the bench dies part way. */
const children = new Set();
function startLogged(cmd, argv, log, env = {}) {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, PATH: SANE_PATH, ...env } });
  closeSync(fd);
  child.exited = new Promise((r) => child.once('exit', r));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function stopChild(child, ms = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await child.exited;
  clearTimeout(timer);
}

// --------------------------------------------------------------- image ----

/** A gzip layer from a directory: the tar (kept for the unpack bench) and its gzip. */
async function layerFrom(dir, out) {
  runOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', dir, '-cf', `${out}.tar`, '.']);
  runOk('sh', ['-c', `gzip -1 -n -c "${out}.tar" > "${out}.tar.gz"`]);
  return {
    tar: `${out}.tar`, gz: `${out}.tar.gz`,
    diffId: await sha256File(`${out}.tar`), digest: await sha256File(`${out}.tar.gz`), size: statSync(`${out}.tar.gz`).size,
  };
}

/** An OCI layout holding one image of the given layers, tagged `tag`. */
function ociLayout(dir, layers, tag) {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (bytes) => { const d = createHash('sha256').update(bytes).digest('hex'); writeFileSync(join(blobs, d), bytes); return { digest: `sha256:${d}`, size: bytes.length }; };
  for (const l of layers) { const p = join(blobs, l.digest.slice(7)); if (!existsSync(p)) linkSync(l.gz, p); }
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'berth bench' })),
  })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  })));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}

async function makeImages(work) {
  const bb = join(work, 'busybox-root');
  mkdirSync(join(bb, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(bb, 'bin', 'busybox'));
  for (const a of ['sh', 'ls', 'cat', 'true', 'sleep']) symlinkSync('busybox', join(bb, 'bin', a));
  const big = join(work, 'big-root');
  mkdirSync(join(big, 'data'), { recursive: true });
  runOk('head', ['-c', `${MB}M`, '/dev/urandom'], { stdio: ['ignore', openSync(join(big, 'data', 'random.bin'), 'w'), 'pipe'] });
  const busyboxLayer = await layerFrom(bb, join(work, 'busybox'));
  const bigLayer = await layerFrom(big, join(work, 'big'));
  rmSync(big, { recursive: true, force: true });
  ociLayout(join(work, 'oci-big'), [busyboxLayer, bigLayer], '1');
  ociLayout(join(work, 'oci-small'), [busyboxLayer], '1');
  return { busyboxLayer, bigLayer };
}

// ------------------------------------------------------------ registry ----

async function startRegistry(work) {
  const dir = join(work, 'registry');
  mkdirSync(dir);
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1',
    'log:\n  level: error\n  accesslog:\n    disabled: true',
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true`,
    `http:\n  addr: ${host}\n  secret: berth-bench`,
  ].join('\n'));
  const log = join(dir, 'registry.log');
  const proc = startLogged(REGISTRY, ['serve', join(dir, 'config.yml')], log);
  await waitFor('docker-registry', 15_000, async () => {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited ${proc.exitCode}: ${readFileSync(log, 'utf8')}`);
    try { const r = await fetch(`http://${host}/v2/`); await r.arrayBuffer(); return r.status === 200; } catch { return false; }
  }, log);
  return { host, stop: () => stopChild(proc) };
}

function push(layout, ref) {
  runOk(SKOPEO, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${ref}`]);
}

// ---------------------------------------------------------------- core ----

/** A berth-core on its own root/state/socket under dir. */
async function startCore(dir, nodeArgs = []) {
  mkdirSync(dir, { recursive: true });
  const address = join(dir, 'core.sock');
  writeFileSync(join(dir, 'config.json'), '{}');
  const log = join(dir, 'core.log');
  // bin/berth-core is `node dist/berth-core.cjs`; node is called directly when it needs flags of its own
  const [cmd, pre] = nodeArgs.length > 0 ? [process.execPath, [...nodeArgs, join(repo, 'dist', 'berth-core.cjs')]] : [CORE, []];
  const proc = startLogged(cmd, [...pre, '--config', join(dir, 'config.json'), '--address', address, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--log-file', log], join(dir, 'core.out'));
  await waitFor('berth-core', 20_000, () => {
    if (proc.exitCode !== null) throw new Error(`berth-core exited ${proc.exitCode}: ${readFileSync(join(dir, 'core.out'), 'utf8')}`);
    return existsSync(address) && run(CTR, ['--address', address, 'version']).status === 0;
  }, join(dir, 'core.out'));
  return {
    address, proc,
    async stop() {
      await stopChild(proc);
      for (const m of mountsUnder(dir).reverse()) run('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------- dockerd ----

/** A private containerd + dockerd (no bridge, no iptables: it only pulls) under dir. */
async function startDockerd(dir) {
  mkdirSync(join(dir, 'containerd'), { recursive: true });
  const csock = join(dir, 'containerd', 'containerd.sock');
  writeFileSync(join(dir, 'containerd', 'config.toml'), [
    'version = 2', `root = "${join(dir, 'containerd', 'root')}"`, `state = "${join(dir, 'containerd', 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = "${csock}"`, '[ttrpc]', `  address = "${csock}.ttrpc"`,
    '[debug]', `  address = "${join(dir, 'containerd', 'debug.sock')}"`, '[metrics]', '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]', `  path = "${join(dir, 'containerd', 'opt')}"`, '',
  ].join('\n'));
  const containerd = startLogged(CONTAINERD, ['--config', join(dir, 'containerd', 'config.toml')], join(dir, 'containerd.log'));
  await waitFor('containerd', 20_000, () => existsSync(csock), join(dir, 'containerd.log'));
  const sock = join(dir, 'docker.sock');
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }));
  const dockerd = startLogged(DOCKERD, [
    '--config-file', join(dir, 'daemon.json'), '--host', `unix://${sock}`, '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '--containerd', csock,
    '--bridge', 'none', '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--storage-driver', 'overlay2',
  ], join(dir, 'dockerd.log'));
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'cli') };
  await waitFor('dockerd', 60_000, () => {
    if (dockerd.exitCode !== null) throw new Error(`dockerd exited: ${readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
    return run(DOCKER, ['version'], { env }).status === 0;
  }, join(dir, 'dockerd.log'));
  return {
    env,
    pids: [dockerd.pid, containerd.pid],
    async stop() {
      await stopChild(dockerd, 20_000);
      await stopChild(containerd);
      for (const m of mountsUnder(dir).reverse()) run('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- pull ----

function berthPullWay(work, ref) {
  let seq = 0;
  let core;
  return {
    name: 'berth',
    pids: () => [core.proc.pid],
    async before() {
      core = await startCore(join(work, `core-pull-${seq++}`), cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []);
      // a core that has answered once, as dockerd has (it is started once and warmed by the first round)
      await runAsync(CTR, ['--address', core.address, 'images', 'ls']);
    },
    async once() {
      const t0 = now();
      await runAsync(CTR, ['--address', core.address, 'images', 'pull', ref]);
      return msSince(t0);
    },
    async after() { await core?.stop(); core = undefined; },
  };
}

/** The same pull through CoreClient from this process: the core's part of the time, without a CLI start. */
function berthApiPullWay(work, ref, helpers) {
  let seq = 0;
  let core;
  let client;
  return {
    name: 'berth-api',
    pids: () => [core.proc.pid],
    async before() {
      core = await startCore(join(work, `core-api-${seq++}`));
      client = new helpers.CoreClient(core.address, 'default');
      await client.images.List({});
    },
    async once() {
      const t0 = now();
      await client.pull({ ref, platform: '', snapshotter: '', unpack: true, username: '', password: '' }, () => {});
      return msSince(t0);
    },
    async after() { client?.close(); await core?.stop(); core = undefined; },
  };
}

function dockerPullWay(dockerd, ref) {
  return {
    name: 'docker',
    pids: () => dockerd.pids,
    async before() { run(DOCKER, ['rmi', '-f', ref], { env: dockerd.env }); },
    async once() {
      const t0 = now();
      await runAsync(DOCKER, ['pull', '-q', ref], { env: dockerd.env });
      return msSince(t0);
    },
    async after() { runOk(DOCKER, ['rmi', ref], { env: dockerd.env }); },
  };
}

function skopeoWay(work, ref) {
  let seq = 0;
  let dir;
  return {
    name: 'skopeo',
    async before() { dir = join(work, `skopeo-${seq++}`); },
    async once() {
      const t0 = now();
      await runAsync(SKOPEO, ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:1`]);
      return msSince(t0);
    },
    async after() { rmSync(dir, { recursive: true, force: true }); },
  };
}

async function benchPull(work, registry, helpers, results) {
  const ref = `${registry.host}/bench/big:1`;
  const dockerd = await startDockerd(join(work, 'dockerd'));
  try {
    const ways = [berthPullWay(work, ref), berthApiPullWay(work, ref, helpers), dockerPullWay(dockerd, ref), skopeoWay(work, ref)];
    const times = Object.fromEntries(ways.map((w) => [w.name, []]));
    // CPU of the pulling daemons (berth-core; dockerd + containerd and the untar children dockerd reaps): on a loaded machine a steadier figure than wall time
    const cpu = Object.fromEntries(ways.filter((w) => w.pids).map((w) => [w.name, []]));
    for (let r = -1; r < rounds; r++) {
      const order = ways.map((_, i) => ways[(i + Math.max(r, 0)) % ways.length]);
      const line = [];
      for (const w of order) {
        await w.before();
        try {
          const c0 = w.pids ? cpuMs(w.pids()) : 0;
          const ms = await w.once();
          const c = w.pids ? cpuMs(w.pids()) - c0 : undefined;
          if (r >= 0) { times[w.name].push(ms); if (c !== undefined) cpu[w.name].push(c); }
          line.push(`${w.name} ${fmt(ms)} s${c !== undefined ? ` (cpu ${fmt(c)})` : ''}`);
        } finally { await w.after(); }
      }
      console.log(`pull ${r < 0 ? 'warm-up' : `round ${r + 1}`}: ${line.join(', ')}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    // the ratio of each round (berth and docker ran minutes apart at most), then their median
    const perRound = (a, b) => median(times[a].map((t, i) => t / times[b][i]));
    const cpuMedian = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
    results.pull = {
      times, median: m, cpu: cpuMedian, ratioDocker: perRound('berth', 'docker'), ratioSkopeo: perRound('berth', 'skopeo'), ratioApiDocker: perRound('berth-api', 'docker'),
      ratioCpuDocker: cpuMedian.berth / cpuMedian.docker,
    };
  } finally {
    await dockerd.stop();
  }
}

// -------------------------------------------------------------- bundle ----

/** applyLayer and CoreClient from src/, bundled by esbuild (the build's own tool) into dir, with the addon beside them. */
async function bundleHelpers(dir) {
  const { build } = await import(pathToFileURL(join(repo, 'node_modules', 'esbuild', 'lib', 'main.js')).href);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'bench-helpers.cjs');
  await build({
    stdin: { contents: "export { applyLayer } from './src/core/unpack/apply.ts';\nexport { CoreClient } from './src/core/client.ts';\n", resolveDir: repo, loader: 'ts' },
    absWorkingDir: repo, outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    external: ['*.node'], define: { 'import.meta.url': '__benchUrl' },
    banner: { js: 'const __benchUrl = require("url").pathToFileURL(__filename).href;' }, logLevel: 'warning',
  });
  symlinkSync(join(repo, 'dist', 'berth_addon.node'), join(dir, 'berth_addon.node'));
  process.env.BERTH_PROTO_DIR = join(repo, 'proto');
  return import(pathToFileURL(out).href).then((m) => m.default ?? m);
}

// -------------------------------------------------------------- unpack ----

async function benchUnpack(work, layer, helpers, results) {
  const { applyLayer } = helpers;
  const mib = statSync(layer.tar).size / (1 << 20);
  const ways = [
    { name: 'berth gz', async once(dir) { const r = await applyLayer(createReadStream(layer.gz, { highWaterMark: 1 << 20 }), { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', dir, whiteouts: 'overlay' }); if (r.diffId !== layer.diffId) throw new Error(`diff id ${r.diffId}`); } },
    { name: 'tar -xzf', async once(dir) { await runAsync('tar', ['-xzf', layer.gz, '-C', dir]); } },
    { name: 'berth tar', async once(dir) { const r = await applyLayer(createReadStream(layer.tar, { highWaterMark: 1 << 20 }), { mediaType: 'application/vnd.oci.image.layer.v1.tar', dir, whiteouts: 'overlay' }); if (r.diffId !== layer.diffId) throw new Error(`diff id ${r.diffId}`); } },
    { name: 'tar -xf', async once(dir) { await runAsync('tar', ['-xf', layer.tar, '-C', dir]); } },
  ];
  const times = Object.fromEntries(ways.map((w) => [w.name, []]));
  let seq = 0;
  for (let r = -1; r < rounds; r++) {
    const order = ways.map((_, i) => ways[(i + Math.max(r, 0)) % ways.length]);
    const line = [];
    for (const w of order) {
      const dir = join(work, `unpack-${seq++}`);
      mkdirSync(dir);
      try {
        const t0 = now();
        await w.once(dir);
        const ms = msSince(t0);
        if (r >= 0) times[w.name].push(ms);
        line.push(`${w.name} ${fmt(ms)} s`);
      } finally { rmSync(dir, { recursive: true, force: true }); }
    }
    console.log(`unpack ${r < 0 ? 'warm-up' : `round ${r + 1}`}: ${line.join(', ')}`);
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const mbps = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, mib / (v / 1000)]));
  results.unpack = { mib, median: m, mbps, ratioGz: m['berth gz'] / m['tar -xzf'], ratioTar: m['berth tar'] / m['tar -xf'] };
}

// ---------------------------------------------------------------- list ----

async function benchList(work, registry, helpers, results) {
  const core = await startCore(join(work, 'core-list'));
  const client = new helpers.CoreClient(core.address, 'bench');
  try {
    const small = `${registry.host}/bench/small:1`;
    runOk(CTR, ['--address', core.address, '-n', 'bench', 'images', 'pull', small]);
    const source = await client.images.Get({ name: small });
    const t0 = now();
    for (let i = 0; i < LIST_IMAGES - 1; i++) {
      await client.images.Create({ image: { name: `${registry.host}/bench/tag-${String(i).padStart(3, '0')}:v${i}`, labels: { 'bench.index': String(i) }, target: source.image.target } });
    }
    const createMs = msSince(t0);
    const calls = [];
    let n = 0;
    for (let i = 0; i < LIST_CALLS + 1; i++) {
      const t = now();
      const res = await client.images.List({});
      const ms = msSince(t);
      n = res.images.length;
      if (i > 0) calls.push(ms); // the first call warms the connection
    }
    if (n !== LIST_IMAGES) throw new Error(`Images.List returned ${n} images, not ${LIST_IMAGES}`);
    const cli = [];
    for (let i = 0; i < 3; i++) {
      const t = now();
      const out = runOk(CTR, ['--address', core.address, '-n', 'bench', 'images', 'ls', '-q']);
      cli.push(msSince(t));
      if (out.trim().split('\n').length !== LIST_IMAGES) throw new Error('berth-ctr images ls: wrong count');
    }
    results.list = { images: n, calls, median: median(calls), createMsPerImage: createMs / (LIST_IMAGES - 1), cliMedian: median(cli) };
    console.log(`list: Images.List of ${n} images ${calls.map((c) => c.toFixed(1)).join(' ')} ms; berth-ctr images ls ${cli.map((c) => c.toFixed(0)).join(' ')} ms`);
  } finally {
    client.close();
    await core.stop();
  }
}

// ---------------------------------------------------------------- main ----

function report(results) {
  console.log('');
  if (results.pull) {
    const { median: m, ratioDocker, ratioSkopeo, cpu } = results.pull;
    console.log(`pull of ${MB} MB + busybox, median of ${rounds} (s): berth ${fmt(m.berth)} (Pull RPC alone ${fmt(m['berth-api'])}), docker ${fmt(m.docker)}, skopeo ${fmt(m.skopeo)}`);
    console.log(`  berth/docker ${ratioDocker.toFixed(3)} (median of per-round ratios; target <= 0.8) ${ratioDocker <= 0.8 ? 'MET' : 'MISSED'}; berth/skopeo ${ratioSkopeo.toFixed(3)}; Pull RPC/docker ${results.pull.ratioApiDocker.toFixed(3)}`);
    console.log(`  daemon CPU (s): berth-core ${fmt(cpu.berth)} (Pull RPC ${fmt(cpu['berth-api'])}), dockerd+containerd ${fmt(cpu.docker)}; berth/docker ${results.pull.ratioCpuDocker.toFixed(3)}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  }
  if (results.unpack) {
    const { median: m, mbps, ratioGz, ratioTar } = results.unpack;
    for (const k of Object.keys(m)) console.log(`unpack ${k}: ${fmt(m[k])} s, ${mbps[k].toFixed(0)} MiB/s (uncompressed)`);
    console.log(`  berth/tar time: gzip ${ratioGz.toFixed(3)}, plain ${ratioTar.toFixed(3)}`);
  }
  if (results.list) {
    const l = results.list;
    console.log(`list: Images.List of ${l.images} images, median of ${LIST_CALLS}: ${l.median.toFixed(1)} ms (target < 100) ${l.median < 100 ? 'MET' : 'MISSED'}; berth-ctr images ls ${l.cliMedian.toFixed(0)} ms; Images.Create ${l.createMsPerImage.toFixed(2)} ms each`);
  }
}

for (const bin of [CORE, CTR, REGISTRY, SKOPEO, DOCKERD, CONTAINERD]) {
  if (!existsSync(bin)) { console.error(`bench/images: needs ${bin}${bin.startsWith(repo) ? ' (npm run build)' : ''}`); process.exit(2); }
}
const work = mkdtempSync(join(tmpdir(), 'berth-bench-images-'));
const killAll = () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAll();
    setTimeout(() => {
      for (const m of mountsUnder(work).reverse()) run('umount', ['-l', m]);
      rmSync(work, { recursive: true, force: true });
      process.exit(130);
    }, 500);
  });
}
const results = {};
let failed = false;
let registry;
try {
  console.log(`making the image (${MB} MB of random bytes, gzip) in ${work}`);
  const { bigLayer } = await makeImages(work);
  let helpers;
  helpers = await bundleHelpers(join(work, 'helpers'));
  if (only.has('pull') || only.has('list')) {
    registry = await startRegistry(work);
    push(join(work, 'oci-big'), `${registry.host}/bench/big:1`);
    push(join(work, 'oci-small'), `${registry.host}/bench/small:1`);
  }
  if (only.has('pull')) await benchPull(work, registry, helpers, results);
  if (only.has('unpack')) await benchUnpack(work, bigLayer, helpers, results);
  if (only.has('list')) await benchList(work, registry, helpers, results);
  report(results);
} catch (err) {
  failed = true;
  console.error(`bench/images: ${err.stack ?? err}`);
} finally {
  await registry?.stop();
  killAll();
  for (const m of mountsUnder(work).reverse()) run('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
