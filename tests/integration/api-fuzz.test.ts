/**
 * berthd under hostile input: the seeded fuzzer (tests/helpers/api-fuzz)
 * sends requests built from the route table and broken on purpose —
 * malformed JSON, wrong types in every create field, huge values, unknown
 * routes and methods, broken chunked bodies, lying lengths, pipelines,
 * HTTP/1.0, half-closed and dropped connections — for BERTH_FUZZ_SECONDS
 * (default 30), while slow-loris clients trickle headers. Every answer is
 * a 4xx (or 501) with a JSON message; no hang, no crash (pid alive, _ping
 * after each batch), no file descriptor leak, and no object appears that
 * no 2xx reported. A failure prints the seed: BERTH_FUZZ_SEED=<seed> replays it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { call, corePids, docker, dockerOk, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import { exchange, fuzzSeed, judge, nextCase, Rng, routeShapes, slowLoris, type FuzzCase, type Outcome, type Targets } from '../helpers/api-fuzz/index.js';

const skip = skipBerthd || (!existsSync('/usr/local/bin/docker') ? 'needs the docker CLI' : false);
const SECONDS = Number(process.env.BERTH_FUZZ_SECONDS ?? '30');
const CASE_TIMEOUT_MS = 15_000;
const PARALLEL = 4;
/** berthd's headersTimeout (src/api/server.ts) plus the time its check runs at */
const LORIS_LIMIT_MS = 25_000;

let dir = '';
let l: Layout;
let b: Berthd;
const targets: Targets = {};

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

function buildImage(): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'true', 'sleep']) symlinkSync('busybox', join(root, 'bin', a));
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

const fds = (): number => readdirSync(`/proc/${b.proc.pid}/fd`).length;
const alive = (): boolean => b.proc.exitCode === null && b.proc.signalCode === null;

function names(kind: 'containers' | 'volumes' | 'networks'): Set<string> {
  const args = kind === 'containers' ? ['ps', '-aq', '--no-trunc'] : kind === 'volumes' ? ['volume', 'ls', '-q'] : ['network', 'ls', '-q', '--no-trunc'];
  return new Set(ok(args).split('\n').filter(Boolean));
}

/** The fixture objects cases aim at, made again when a case removed them. */
function ensureTargets(): void {
  const cs = names('containers');
  if (targets.container === undefined || !cs.has(targets.container)) targets.container = ok(['create', 'busybox', 'sleep', '1000']);
  if (targets.volume === undefined || !names('volumes').has(targets.volume)) targets.volume = ok(['volume', 'create', 'fuzzfix']);
  if (targets.network === undefined || !names('networks').has(targets.network)) targets.network = ok(['network', 'create', '--internal', 'fuzzfixnet']);
}

/** Ids and names a 2xx create answered with: those objects are allowed to exist. */
function reported(c: FuzzCase, o: Outcome, into: Set<string>): void {
  for (const r of o.responses) {
    if (r.status !== 201 && r.status !== 200) continue;
    try {
      const doc = JSON.parse(r.body.toString('utf8')) as { Id?: unknown; Name?: unknown };
      if (typeof doc.Id === 'string') into.add(doc.Id);
      if (typeof doc.Name === 'string') into.add(doc.Name);
    } catch { /* not a create */ }
  }
  void c;
}

before(async () => {
  if (skip) return;
  process.env.BERTH_REGISTRY_TIMEOUT_MS ??= '3000';
  dir = mkdtempSync('/tmp/f-');
  l = layout(dir);
  b = await ready(spawnBerthd(l, process.env.BERTH_FUZZ_DEBUG ? ['--log-level', 'debug'] : []));
  ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', buildImage(), 'busybox:latest']);
  ensureTargets();
});

after(async () => {
  if (skip || !b) return;
  // best effort: a listing that fails (the bug under test may be what broke
  // it) must not keep berthd running and this file's process alive
  if (alive()) try {
    const ids = names('containers');
    if (ids.size > 0) docker(b.sock, ['rm', '-f', ...ids]);
    const nets = [...names('networks')].filter((n) => !['bridge', 'host', 'none'].includes(ok(['network', 'inspect', '-f', '{{.Name}}', n])));
    if (nets.length > 0) docker(b.sock, ['network', 'rm', ...nets]);
    const vols = names('volumes');
    if (vols.size > 0) docker(b.sock, ['volume', 'rm', '-f', ...vols]);
  } catch (err) {
    console.log(`api fuzz cleanup: ${(err as Error).message}`);
  }
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const deadline = Date.now() + 10_000;
  while ((corePids(l).length > 0 || leftovers(l).length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((x) => x.split(' ')[1] ?? '').filter((m) => m.startsWith(`${dir}/`)).sort().reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(leftovers(l), []);
});

test('berthd answers hostile requests with 4xx JSON errors, never hangs, crashes or leaks', { skip, timeout: (SECONDS + 90) * 1000 }, async () => {
  const seed = fuzzSeed();
  const rng = new Rng(seed);
  const routes = routeShapes();
  assert.ok(routes.length > 40, `the route table has ${routes.length} routes`);
  const failures: string[] = [];
  const before = { containers: names('containers'), volumes: names('volumes'), networks: names('networks') };
  const madeOk = new Set<string>([targets.container!, targets.volume!, targets.network!]);
  await call(b.sock, 'GET', '/_ping');
  const fdsBefore = fds();

  // slow loris: headers a byte a second, alongside the fuzzing
  const loris = [0, 1].map(async () => {
    const o = await exchange(b.sock, slowLoris(1000), 1, LORIS_LIMIT_MS + 5000);
    const status = o.responses[0]?.status;
    if (!(status === 408 || (status === undefined && o.closed)) || o.elapsedMs > LORIS_LIMIT_MS) {
      failures.push(`slow loris: status ${status ?? 'none'}, closed ${o.closed}, after ${o.elapsedMs} ms`);
    }
  });

  const deadline = Date.now() + SECONDS * 1000;
  let index = 0;
  let sent = 0;
  const statuses = new Map<number, number>();
  while (Date.now() < deadline && failures.length < 20) {
    const batch: { c: FuzzCase; i: number }[] = [];
    for (let k = 0; k < PARALLEL * 5; k++) batch.push({ c: nextCase(rng, routes, targets), i: index++ });
    for (let k = 0; k < batch.length; k += PARALLEL) {
      await Promise.all(batch.slice(k, k + PARALLEL).map(async ({ c, i }) => {
        const o = await exchange(b.sock, c.steps, c.expect, CASE_TIMEOUT_MS, c.head === true);
        sent++;
        for (const r of o.responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        reported(c, o, madeOk);
        for (const p of judge(c, o)) failures.push(`case #${i} (${c.label.slice(0, 300)}): ${p}`);
      }));
    }
    assert.ok(alive(), `berthd died (seed ${seed}): ${b.stderr().slice(-2000)}`);
    const ping = await call(b.sock, 'GET', '/_ping');
    assert.equal(ping.status, 200, `berthd stopped answering _ping (seed ${seed})`);
    ensureTargets();
    for (const v of [targets.container!, targets.volume!, targets.network!]) madeOk.add(v);
  }
  await Promise.all(loris);

  // no object appeared that no 2xx reported
  for (const kind of ['containers', 'volumes', 'networks'] as const) {
    const extra = [...names(kind)].filter((n) => !before[kind].has(n) && !madeOk.has(n) && ![...madeOk].some((m) => m.startsWith(n) || n.startsWith(m)));
    if (extra.length > 0) failures.push(`${kind} left by refused creates: ${extra.join(' ')}`);
  }
  // no descriptor leak once the connections are gone
  let fdsAfter = fds();
  for (let t = 0; t < 50 && fdsAfter > fdsBefore + 5; t++) { await new Promise((r) => setTimeout(r, 100)); fdsAfter = fds(); }
  if (fdsAfter > fdsBefore + 5) failures.push(`file descriptors: ${fdsBefore} before, ${fdsAfter} after`);

  console.log(`api fuzz: seed ${seed}, ${sent} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}, fds ${fdsBefore} -> ${fdsAfter}`);
  if (failures.length > 0 && process.env.BERTH_FUZZ_DEBUG) console.log(b.stderr().slice(-20_000));
  assert.deepEqual(failures, [], `seed ${seed} (replay with BERTH_FUZZ_SEED=${seed}):\n${failures.join('\n')}`);
  assert.ok(sent > 100, `only ${sent} cases ran`);
});
