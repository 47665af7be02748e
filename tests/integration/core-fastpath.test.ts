/**
 * The core's fast path (berth-core plans berth-runtime calls in-process, the
 * shim runs the front in a fork) against the exec path (`"fast-path": false`:
 * the shim execs bin/berth-runtime, which asks the planner daemon): the same
 * spec through both gives the same container, seen from the host. The fast
 * core runs with BERTH_PLANNER_PATH pointing nowhere, so a shim that fell
 * back to exec'ing the runtime would fail: what passes there went through
 * the fast path. Needs root and `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { defaultConfig, makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/runtime.js';
import { kill9, liveMatching, ready, skip, spawnCore, type Core } from '../helpers/core.js';

const RUNTIME = join(REPO, 'bin', 'berth-runtime');
const NS = 'fastpath';

interface Side { name: string; dir: string; address: string; client: CoreClient; core: Core; restart(): Promise<void> }

async function startSide(name: string, fastPath: boolean): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `berth-fastpath-${name}-`));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ 'fast-path': fastPath }));
  const address = join(dir, 'core.sock');
  const env: Record<string, string> = fastPath ? { BERTH_PLANNER_PATH: join(dir, 'no-planner-here.cjs') } : {};
  const side: Side = {
    name, dir, address, client: new CoreClient(address, NS), core: await ready(spawnCore(dir, address, env), address),
    restart: async () => {
      await kill9(side.core);
      side.client.close();
      side.core = await ready(spawnCore(dir, address, env), address);
      side.client = new CoreClient(address, NS);
    },
  };
  return side;
}

async function stopSide(s: Side): Promise<void> {
  s.client.close();
  await kill9(s.core);
  for (const p of liveMatching(s.dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  await sleep(100);
  const stateRoot = join(s.dir, 'state');
  if (existsSync(stateRoot)) {
    spawnSync('sh', ['-c', `for r in ${stateRoot}/*/*/shim/runtime; do [ -d "$r" ] || continue; for c in "$r"/*; do ${RUNTIME} --root "$r" delete --force "$(basename "$c")" >/dev/null 2>&1; done; done`]);
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** A spec that exercises what differs between runtimes: user, caps, seccomp, cgroup limits, hostname, mounts. */
function spec(rootfs: Bundle, id: string, args: string[]): Buffer {
  const c = defaultConfig(args);
  c.root.path = rootfs.rootfs;
  c.hostname = 'fastpath-host';
  c.process.user = { uid: 1000, gid: 1000, additionalGids: [10] };
  c.linux.cgroupsPath = `/berth-fastpath-test/${id}`;
  c.linux.resources = { ...c.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 77 }, cpu: { shares: 512 } };
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['keyctl', 'add_key'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
  return Buffer.from(JSON.stringify(c));
}

async function runSleeper(s: Side, rootfs: Bundle, id: string): Promise<number> {
  await s.client.containers.Create({ container: { id, image: '', spec: spec(rootfs, id, ['sleep', '60']), runtime: { name: '', options: Buffer.alloc(0) }, rootfs: rootfs.rootfs, snapshotKey: '', labels: {} } as unknown as Container });
  const t = await s.client.tasks.Create({ containerId: id });
  await s.client.tasks.Start({ containerId: id });
  return t.pid;
}

const runtimeRoot = (s: Side, id: string): string => join(s.dir, 'state', NS, id, 'shim', 'runtime');

function runtime(s: Side, id: string, ...argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(RUNTIME, ['--root', runtimeRoot(s, id), ...argv], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What the host sees of a container, with its id, pid and per-core paths taken out. */
function portrait(s: Side, id: string, pid: number): Record<string, unknown> {
  const norm = (t: string): string => t.split(id).join('ID').split(s.dir).join('DIR');
  const status = Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
    .map((l) => l.split(':\t'))
    .filter(([k]) => ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters'].includes(k!)));
  // mount point, fs type and options, as the container sees them (ids and sources differ run to run)
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').trim().split('\n').map((l) => {
    const f = l.split(' ');
    const sep = f.indexOf('-');
    return `${f[4]} ${f[5]} ${f[sep + 1]} ${f[sep + 3]?.replace(/size=\d+k/, 'size')}`;
  });
  const cgroups = norm(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const cg = (ctrl: string, file: string): string => readFileSync(join('/sys/fs/cgroup', ctrl, 'berth-fastpath-test', id, file), 'utf8').trim();
  const limits = { memory: cg('memory', 'memory.limit_in_bytes'), pids: cg('pids', 'pids.max'), shares: cg('cpu', 'cpu.shares') };
  const hostname = spawnSync('nsenter', [`--uts=/proc/${pid}/ns/uts`, 'hostname'], { encoding: 'utf8' }).stdout.trim();
  const st = runtime(s, id, 'state', id);
  assert.equal(st.code, 0, st.stderr);
  const state = JSON.parse(st.stdout) as Record<string, unknown>;
  assert.equal(state.pid, pid);
  for (const k of ['pid', 'created', 'id', 'bundle']) delete state[k];
  const ps = runtime(s, id, 'ps', '--format', 'json', id);
  assert.equal(ps.code, 0, ps.stderr);
  assert.deepEqual(JSON.parse(ps.stdout), [pid]);
  return { status, mounts, cgroups, limits, hostname, state: JSON.parse(norm(JSON.stringify(state))) };
}

test('fast path and exec path give identical containers; berth-runtime state/ps/kill/delete work on a fast-path container', { skip, timeout: 60_000 }, async () => {
  const rootfs = makeBundle(['true'], 'berth-fastpath-rootfs-');
  const fast = await startSide('fast', true);
  const slow = await startSide('exec', false);
  try {
    const fid = `fp-fast-${process.pid}`;
    const eid = `fp-exec-${process.pid}`;
    // the switch: only the fast core serves a planner socket
    assert.ok(existsSync(join(fast.dir, 'state', 'planner.sock')), 'the fast core serves no planner socket');
    assert.ok(!existsSync(join(slow.dir, 'state', 'planner.sock')), 'a core with fast-path false serves a planner socket');
    const fpid = await runSleeper(fast, rootfs, fid);
    const epid = await runSleeper(slow, rootfs, eid);
    const a = portrait(fast, fid, fpid);
    const b = portrait(slow, eid, epid);
    assert.equal((a.status as Record<string, string>).Seccomp, '2');
    assert.equal((a.status as Record<string, string>).Uid?.split('\t')[0], '1000');
    assert.equal(a.hostname, 'fastpath-host');
    assert.deepEqual(a, b);

    // the runtime's own command line on the fast-path container
    const k = runtime(fast, fid, 'kill', fid, 'KILL');
    assert.equal(k.code, 0, k.stderr);
    const w = await fast.client.tasks.Wait({ containerId: fid });
    assert.equal(w.exitStatus, 137);
    const d = runtime(fast, fid, 'delete', fid);
    assert.equal(d.code, 0, d.stderr);
    assert.notEqual(runtime(fast, fid, 'state', fid).code, 0, 'the state survived berth-runtime delete');
    assert.ok(!existsSync(join('/sys/fs/cgroup/memory/berth-fastpath-test', fid)), 'the cgroup survived berth-runtime delete');

    await slow.client.tasks.Kill({ containerId: eid, signal: 9, all: false });
    await slow.client.tasks.Wait({ containerId: eid });
    await slow.client.tasks.Delete({ containerId: eid });
  } finally {
    await stopSide(fast);
    await stopSide(slow);
    removeBundle(rootfs);
    for (const c of readdirCgroups()) { try { rmdirSync(c); } catch { /* busy or gone */ } }
  }
});

test('a fast-path task survives kill -9 of the core: the restarted core plans its kill and delete', { skip, timeout: 60_000 }, async () => {
  const rootfs = makeBundle(['true'], 'berth-fastpath-rootfs-');
  const fast = await startSide('recover', true);
  try {
    const id = `fp-recover-${process.pid}`;
    const pid = await runSleeper(fast, rootfs, id);
    await fast.restart();
    const st = (await fast.client.tasks.State({ containerId: id })).process!;
    assert.equal(st.status, 'RUNNING');
    assert.equal(st.pid, pid);
    // the shim's environment still sends an exec'd runtime nowhere: only the new core can plan this
    await fast.client.tasks.Kill({ containerId: id, signal: 9, all: false });
    const w = await fast.client.tasks.Wait({ containerId: id });
    assert.equal(w.exitStatus, 137);
    await fast.client.tasks.Delete({ containerId: id });
    assert.ok(!existsSync(runtimeRoot(fast, id)), 'the runtime state survived the delete');
    assert.ok(!existsSync(join('/sys/fs/cgroup/memory/berth-fastpath-test', id)), 'the cgroup survived the delete');
    await fast.client.containers.Delete({ id });
  } finally {
    await stopSide(fast);
    removeBundle(rootfs);
    for (const c of readdirCgroups()) { try { rmdirSync(c); } catch { /* busy or gone */ } }
  }
});

/** The test's cgroup parent in every v1 hierarchy (removed when empty). */
function readdirCgroups(): string[] {
  const r = spawnSync('sh', ['-c', 'ls -d /sys/fs/cgroup/*/berth-fastpath-test 2>/dev/null'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}
