#!/usr/bin/env node
// bench/network: what networking costs a container, against Debian's dockerd.
//   setup  berthd's network attach for a bridge container, in this process, on
//          a private network instance (its own bridge and nft tables): the
//          NetworkEndpoints.attach a start runs (namespace file, veth into the
//          bridge, rules, /etc/hosts and resolv.conf), without and with one
//          published port, medians over rounds, with every child process the
//          attach runs timed by name (spawnSync wrapped), then detach;
//   start  POST /containers/{id}/start of a created busybox `sleep` on the
//          default bridge and with --network none, berthd and dockerd,
//          interleaved rounds with rotating order: the whole start, and the
//          network's share (attach / bridge start; bridge − none);
//   ports  a published port of a busybox httpd in each engine, measured with
//          ab (apache2-utils): latency = mean per request at -c 1 (a new TCP
//          connection each), rate = requests/s at -c 8, bulk = transfer rate
//          of a 4 MiB file at -c 4. Paths: berthd's kernel DNAT from 127.0.0.1
//          (nat output) and from a test host namespace through a veth (nat
//          prerouting); berthd's userland proxy over [::1] (its nft rules are
//          IPv4: ::1 reaches the Node proxy); dockerd's docker-proxy from
//          127.0.0.1 and from the test host — the bench's dockerd runs with
//          --iptables=false (tests/helpers/engines.ts), so docker-proxy is its
//          only path; and the container's address directly as the floor.
//          Interleaved rounds; medians; ratios to docker-proxy from the same
//          place.
//   node --import tsx bench/network.mjs [--rounds 15] [--port-rounds 3] [--only setup,start,ports]
// Needs root, a build, docker.io, ab. Everything made is removed at the end.
import { spawnSync } from 'node:child_process';
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench, median, fmt, IMAGE } from './engine-env.mjs';
import { openStateDb } from '../src/daemon/state/db.js';
import { EventBus } from '../src/daemon/events.js';
import { nullLogger } from '../src/common/log.js';
import { DOCKER_POOLS, NetworkEndpoints, NetworkManager, networkInstance } from '../src/daemon/network/index.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const rounds = Number(opt('rounds', 15));
const portRounds = Number(opt('port-rounds', 3));
const only = opt('only', 'setup,start,ports').split(',');
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

// ---- child processes of an attach, timed by command ----
const children = [];
const realSpawnSync = childProcess.spawnSync;
childProcess.spawnSync = (cmd, args, o) => {
  const t0 = process.hrtime.bigint();
  const r = realSpawnSync(cmd, args, o);
  const what = cmd === 'nsenter' ? `nsenter ${args.slice(1, 3).join(' ')}` : cmd === 'unshare' ? 'unshare --net' : `${cmd} ${args.slice(0, 2).join(' ')}`;
  children.push({ what, ms: msSince(t0) });
  return r;
};
syncBuiltinESMExports();

async function setupBench() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
  const execRoot = join(dir, 'exec');
  mkdirSync(execRoot);
  const db = openStateDb(join(dir, 'state.db'));
  const manager = new NetworkManager({ db, log: nullLogger, events: new EventBus(), pools: DOCKER_POOLS, instance: networkInstance(execRoot) });
  const out = {};
  try {
    manager.init();
    const eps = new NetworkEndpoints({ manager, execRoot, log: nullLogger, hostResolv: () => 'nameserver 192.0.2.53\n' });
    const recs = new Map();
    eps.bindContainers({ get: (id) => recs.get(id), find: (ref) => recs.get(ref), save: () => undefined });
    const make = (i, port) => {
      const id = `${i.toString(16).padStart(8, '0')}${'b'.repeat(56)}`;
      const c = {
        ID: id, Name: `/bench${i}`, State: { Status: 'created' }, ResolvConfPath: join(dir, `${i}.resolv`), HostsPath: join(dir, `${i}.hosts`),
        HostConfig: { NetworkMode: 'bridge', PortBindings: port ? { '80/tcp': [{ HostIp: '', HostPort: '' }] } : {}, ExtraHosts: [] },
        Config: { Hostname: '', ExposedPorts: port ? { '80/tcp': {} } : {} },
      };
      recs.set(id, c);
      eps.created(c, {});
      return c;
    };
    for (const [kind, port] of [['bridge', false], ['bridge -p 80', true]]) {
      const attach = []; const detach = []; const byChild = {};
      for (let r = 0; r < rounds + 2; r++) {
        const c = make(r + (port ? 1000 : 0), port);
        children.length = 0;
        let t0 = process.hrtime.bigint();
        await eps.attach(c);
        const a = msSince(t0);
        const kids = children.splice(0);
        t0 = process.hrtime.bigint();
        await eps.detach(c);
        const d = msSince(t0);
        eps.removed(c.ID);
        if (r < 2) continue; // warm-up
        attach.push(a); detach.push(d);
        for (const k of kids) (byChild[k.what] ??= []).push(k.ms);
      }
      out[kind] = { attach: median(attach), detach: median(detach), children: Object.fromEntries(Object.entries(byChild).map(([k, v]) => [k, { n: v.length / rounds, ms: median(v) }])) };
      log(`setup ${kind} (load ${loadavg()}): attach ${fmt(out[kind].attach)} ms, detach ${fmt(out[kind].detach)} ms`);
    }
    await eps.stop();
  } finally {
    manager.teardown();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function printSetup(s) {
  console.log('\n### setup (in-process NetworkEndpoints.attach, median ms)\n');
  console.log('| container | attach | detach | children per attach (count × median ms) |');
  console.log('|---|---:|---:|---|');
  for (const [k, v] of Object.entries(s)) {
    const kids = Object.entries(v.children).map(([w, c]) => `${w} ${fmt(c.n, 0)}×${fmt(c.ms)}`).join(', ');
    console.log(`| ${k} | ${fmt(v.attach)} | ${fmt(v.detach)} | ${kids} |`);
  }
}

// ---- start: the whole start through each engine's API ----
function post(sock, path) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ socketPath: sock, method: 'POST', path }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode < 300 ? resolve(msSince(t0)) : reject(new Error(`${path}: ${res.statusCode} ${Buffer.concat(chunks)}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startBench(b) {
  const engines = { berthd: { cli: b.dockerB, sock: b.layout.sock }, dockerd: { cli: b.docker, sock: b.engines.dockerSock } };
  const ways = Object.keys(engines).flatMap((e) => ['bridge', 'none'].map((m) => `${e} ${m}`));
  const t = Object.fromEntries(ways.map((w) => [w, []]));
  const diff = { berthd: [], dockerd: [] };
  for (let r = 0; r < rounds + 1; r++) {
    const order = ways.map((_w, i) => ways[(i + r) % ways.length]);
    for (const w of order) {
      const [e, mode] = w.split(' ');
      const { cli, sock } = engines[e];
      const id = (await cli(['create', '--network', mode, IMAGE, 'sleep', '1000'])).stdout.trim();
      const ms = await post(sock, `/v1.41/containers/${id}/start`);
      if (r > 0) t[w].push(ms);
      await cli(['rm', '-f', id]);
    }
    if (r > 0) {
      // the share per round (bridge − none of the same round): the load's drift cancels within a round
      for (const e of Object.keys(diff)) diff[e].push(t[`${e} bridge`].at(-1) - t[`${e} none`].at(-1));
      log(`start round ${r}/${rounds}`);
    }
  }
  return { ...Object.fromEntries(ways.map((w) => [w, median(t[w])])), diff: Object.fromEntries(Object.entries(diff).map(([e, v]) => [e, median(v)])) };
}

function printStart(s, setup) {
  console.log('\n### start (POST /containers/{id}/start, median ms)\n');
  console.log('| engine | bridge | none | bridge − none (medians) | median of per-round bridge − none | attach / bridge start |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const e of ['berthd', 'dockerd']) {
    const att = e === 'berthd' && setup ? `${fmt(setup.bridge.attach)} ms = ${fmt((100 * setup.bridge.attach) / s[`${e} bridge`], 0)} %` : '—';
    console.log(`| ${e} | ${fmt(s[`${e} bridge`])} | ${fmt(s[`${e} none`])} | ${fmt(s[`${e} bridge`] - s[`${e} none`])} | ${fmt(s.diff[e])} | ${att} |`);
  }
}

// ---- ports: ab through each path ----
function testHost(dir) {
  const n = 200 + Math.floor(Math.random() * 50);
  const ns = join(dir, 'testhost');
  const veth = `vn${process.pid.toString(16).slice(-6)}`;
  writeFileSync(ns, '');
  const sh = (cmd, args, input) => {
    const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  sh('unshare', [`--net=${ns}`, 'true']);
  sh('ip', ['-batch', '-'], `link add ${veth} type veth peer name th0 netns ${ns}\naddr add 10.250.${n}.1/30 dev ${veth}\nlink set ${veth} up\n`);
  sh('nsenter', [`--net=${ns}`, 'ip', '-batch', '-'], `link set lo up\naddr add 10.250.${n}.2/30 dev th0\nlink set th0 up\nroute add default via 10.250.${n}.1\n`);
  return { ns, hostIp: `10.250.${n}.1`, remove: () => { spawnSync('ip', ['link', 'del', veth]); spawnSync('umount', ['-l', ns]); } };
}

function ab(ns, args) {
  const cmd = ns ? ['nsenter', [`--net=${ns}`, 'ab', ...args]] : ['ab', args];
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', timeout: 120_000 });
  const num = (re) => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const failed = num(/Failed requests:\s+(\d+)/);
  if (r.status !== 0 || failed > 0) throw new Error(`ab ${args.join(' ')}: ${r.status} failed=${failed} ${r.stderr.slice(0, 300)}`);
  return { rps: num(/Requests per second:\s+([\d.]+)/), perReq: num(/Time per request:\s+([\d.]+) \[ms\] \(mean\)/), kbps: num(/Transfer rate:\s+([\d.]+)/) };
}

const SERVE = 'mkdir -p /w && echo hello > /w/index.html && dd if=/dev/zero of=/w/big bs=1M count=4 2>/dev/null && exec httpd -f -p 80 -h /w';

async function portsBench(b) {
  const th = testHost(b.dir);
  try {
    const bid = (await b.dockerB(['run', '-d', '-p', '80', IMAGE, 'sh', '-c', SERVE])).stdout.trim();
    const did = (await b.docker(['run', '-d', '-p', '80', IMAGE, 'sh', '-c', SERVE])).stdout.trim();
    const port = async (cli, id) => Number((await cli(['inspect', '-f', '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', id])).stdout.trim());
    const bp = await port(b.dockerB, bid);
    const dp = await port(b.docker, did);
    const cip = (await b.dockerB(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', bid])).stdout.trim();
    await new Promise((r) => setTimeout(r, 1000));
    const paths = {
      'berthd DNAT, 127.0.0.1': [undefined, `127.0.0.1:${bp}`],
      'berthd DNAT, test host': [th.ns, `${th.hostIp}:${bp}`],
      'berthd proxy, [::1]': [undefined, `[::1]:${bp}`],
      'docker-proxy, 127.0.0.1': [undefined, `127.0.0.1:${dp}`],
      'docker-proxy, test host': [th.ns, `${th.hostIp}:${dp}`],
      'container address (floor)': [undefined, `${cip}:80`],
    };
    const names = Object.keys(paths);
    const res = Object.fromEntries(names.map((n) => [n, { lat: [], rps: [], bulk: [] }]));
    for (const [ns, hp] of Object.values(paths)) ab(ns, ['-q', '-n', '200', '-c', '4', `http://${hp}/`]); // warm-up, and a check that each path answers
    for (let r = 0; r < portRounds; r++) {
      const order = names.map((_n, i) => names[(i + r) % names.length]);
      for (const n of order) {
        const [ns, hp] = paths[n];
        res[n].lat.push(ab(ns, ['-q', '-n', '1000', '-c', '1', `http://${hp}/`]).perReq);
        res[n].rps.push(ab(ns, ['-q', '-n', '4000', '-c', '8', `http://${hp}/`]).rps);
        res[n].bulk.push(ab(ns, ['-q', '-n', '150', '-c', '4', `http://${hp}/big`]).kbps / 1024);
      }
      log(`ports round ${r + 1}/${portRounds} (load ${loadavg()})`);
    }
    return Object.fromEntries(names.map((n) => [n, { lat: median(res[n].lat), rps: median(res[n].rps), bulk: median(res[n].bulk) }]));
  } finally {
    th.remove();
  }
}

function printPorts(p) {
  console.log('\n### published port (ab; medians of rounds; ratio to docker-proxy from the same place)\n');
  console.log('| path | latency ms (-c 1) | × | requests/s (-c 8) | × | MiB/s 4 MiB (-c 4) | × |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [n, v] of Object.entries(p)) {
    const ref = p[n.includes('test host') ? 'docker-proxy, test host' : 'docker-proxy, 127.0.0.1'];
    console.log(`| ${n} | ${fmt(v.lat, 3)} | ${fmt(v.lat / ref.lat, 2)} | ${fmt(v.rps, 0)} | ${fmt(v.rps / ref.rps, 2)} | ${fmt(v.bulk, 0)} | ${fmt(v.bulk / ref.bulk, 2)} |`);
  }
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main() {
  console.log(`load at start: ${loadavg()}`);
  process.on('exit', () => console.log(`\nload at end: ${loadavg()}`));
  let setup;
  if (only.includes('setup')) { setup = await setupBench(); printSetup(setup); }
  if (!only.includes('start') && !only.includes('ports')) return;
  const b = await Bench.start({ log });
  try {
    if (only.includes('start')) printStart(await startBench(b), setup);
    if (only.includes('ports')) printPorts(await portsBench(b));
  } finally {
    await b.stop();
  }
}

await main();
