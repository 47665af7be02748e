/**
 * berth-core as a process: started on a temporary socket, root and state,
 * driven by the typed client and by berth-ctr, killed with SIGKILL and
 * restarted. Needs `npm run build` (bin/berth-core, bin/berth-ctr).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CoreClient } from '../../src/core/client.js';
import { CoreCallError } from '../../src/core/errors.js';
import type { Container, Envelope } from '../../src/core/api/types.js';

const repo = join(import.meta.dirname, '..', '..');
const coreBin = join(repo, 'bin', 'berth-core');
const ctrBin = join(repo, 'bin', 'berth-ctr');

interface Core { dir: string; address: string; proc: ChildProcess; exited: Promise<number | null> }

async function startCore(dir: string, extra: string[] = []): Promise<Core> {
  assert.ok(existsSync(coreBin), `${coreBin} is missing: run npm run build`);
  const address = join(dir, 'core.sock');
  const proc = spawn(coreBin, ['--address', address, '--root', join(dir, 'root'), '--state', join(dir, 'state'),
    '--log-file', join(dir, 'core.log'), '--log-level', 'debug', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const client = new CoreClient(address);
  try {
    await Promise.race([client.waitForReady(10_000), exited.then((c) => { throw new Error(`berth-core exited ${c}: ${stderr}`); })]);
  } finally {
    client.close();
  }
  return { dir, address, proc, exited };
}

async function stopCore(core: Core, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (core.proc.exitCode === null && core.proc.signalCode === null) core.proc.kill(signal);
  return core.exited;
}

/** A temp dir with a core in it; everything is stopped and removed afterwards. */
async function withCore(fn: (core: Core, client: CoreClient, restart: () => Promise<Core>) => Promise<void>, extra: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-core-it-'));
  const cores: Core[] = [];
  const client = { current: undefined as CoreClient | undefined };
  const start = async (): Promise<Core> => { const c = await startCore(dir, extra); cores.push(c); return c; };
  try {
    const core = await start();
    client.current = new CoreClient(core.address, 'default');
    await fn(core, client.current, start);
  } finally {
    client.current?.close();
    for (const c of cores) await stopCore(c, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const spec = (args: string[]): Buffer => Buffer.from(JSON.stringify({ ociVersion: '1.2.0', process: { args, cwd: '/' }, root: { path: 'rootfs' } }));

const container = (id: string, labels: Record<string, string> = {}, runtime = ''): Partial<Container> => ({
  id, image: 'busybox', spec: spec(['true']), runtime: { name: runtime, options: Buffer.alloc(0) }, rootfs: '/tmp', labels,
});

async function rejectsWith(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CoreCallError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

function ctr(core: Core, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(ctrBin, ['--address', core.address, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('namespaces and containers: CRUD through the client, with clear errors', () => withCore(async (_core, client) => {
  const a = client.withNamespace('a');
  await client.namespaces.Create({ name: 'a', labels: { team: 'x' } });
  await rejectsWith(client.namespaces.Create({ name: 'a' }), status.ALREADY_EXISTS, /^namespace a already exists$/);
  const created = (await a.containers.Create({ container: container('c1', { app: 'web' }) as Container })).container!;
  assert.equal(created.runtime?.name, 'berth-runtime', 'the default runtime fills an empty name');
  await a.containers.Create({ container: container('c2', { app: 'db' }) as Container });
  await rejectsWith(a.containers.Create({ container: container('c1') as Container }), status.ALREADY_EXISTS, /container c1 already exists in namespace a/);
  await rejectsWith(a.containers.Get({ id: 'nope' }), status.NOT_FOUND, /container nope not found in namespace a/);
  await rejectsWith(client.containers.Get({ id: 'c1' }), status.NOT_FOUND, /namespace default/);
  await rejectsWith(a.containers.Create({ container: { ...container('bad'), spec: Buffer.from('{') } as Container }), status.INVALID_ARGUMENT, /spec is not valid JSON/);
  await rejectsWith(a.containers.Create({ container: container('bad', {}, 'crun') as Container }), status.INVALID_ARGUMENT, /unknown runtime crun/);
  await rejectsWith(a.containers.Create({ container: container('../x') as Container }), status.INVALID_ARGUMENT, /invalid container id/);

  const listed = await a.containers.List({ filters: ['labels.app==web'] });
  assert.deepEqual(listed.containers.map((c) => c.id), ['c1']);
  const updated = (await a.containers.Update({ container: { ...container('c1'), labels: { tier: 'front' }, image: 'alpine' } as Container, updateMask: ['labels.tier', 'image'] })).container!;
  assert.deepEqual(updated.labels, { app: 'web', tier: 'front' });
  assert.equal(updated.image, 'alpine');
  assert.equal(JSON.parse((await a.containers.Get({ id: 'c1' })).container!.spec.toString()).process.args[0], 'true');

  await rejectsWith(client.namespaces.Delete({ name: 'a' }), status.FAILED_PRECONDITION, /cannot delete namespace a: it still holds 2 containers/);
  await a.containers.Delete({ id: 'c1' });
  await a.containers.Delete({ id: 'c2' });
  await client.namespaces.Delete({ name: 'a' });
  await rejectsWith(client.namespaces.Get({ name: 'a' }), status.NOT_FOUND, /namespace a not found/);
  // a container made in a new namespace creates it
  await client.withNamespace('fresh').containers.Create({ container: container('c1') as Container });
  assert.ok((await client.namespaces.List({})).namespaces.some((n) => n.name === 'fresh'));
}));

test('events reach subscribers, filtered by topic and namespace', () => withCore(async (_core, client) => {
  const all: Envelope[] = [];
  const onlyB: Envelope[] = [];
  const s1 = client.subscribe({ topics: ['/containers'] });
  const s2 = client.subscribe({ namespaces: ['b'] });
  s1.on('data', (e) => all.push(e));
  s2.on('data', (e) => onlyB.push(e));
  await new Promise((r) => setTimeout(r, 200)); // the streams are open before the changes
  await client.withNamespace('a').containers.Create({ container: container('c1') as Container });
  await client.withNamespace('b').containers.Create({ container: container('c1') as Container });
  await client.withNamespace('a').containers.Delete({ id: 'c1' });
  await client.withNamespace('b').events.Publish({ topic: '/custom/thing', event: Buffer.from('{"n":1}') });
  await rejectsWith(client.events.Publish({ topic: 'nope' }), status.INVALID_ARGUMENT, /invalid topic/);
  await new Promise((r) => setTimeout(r, 300));
  s1.cancel();
  s2.cancel();
  assert.deepEqual(all.map((e) => `${e.namespace} ${e.topic}`), ['a /containers/create', 'b /containers/create', 'a /containers/delete']);
  assert.deepEqual(JSON.parse(all[0]!.event.toString()), { id: 'c1', image: 'busybox', runtime: { name: 'berth-runtime' } });
  assert.deepEqual(onlyB.map((e) => e.topic), ['/namespaces/create', '/containers/create', '/custom/thing']);
}));

test('tasks of unknown containers are refused with a clear message (full flows: core-tasks.test.ts)', () => withCore(async (_core, client) => {
  await rejectsWith(client.tasks.Create({ containerId: 'c1' }), status.NOT_FOUND, /container c1 not found in namespace default/);
  await rejectsWith(client.tasks.Wait({ containerId: 'c1' }), status.NOT_FOUND, /task c1 not found in namespace default/);
}));

test('kill -9 of the core loses nothing; a second core is refused; SIGTERM stops cleanly', () => withCore(async (core, client, restart) => {
  assert.equal(statSync(core.address).mode & 0o777, 0o600);
  const refused = spawnSync(coreBin, ['--address', core.address, '--root', join(core.dir, 'root2'), '--state', join(core.dir, 'state2')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /another berth-core is serving/);

  for (let i = 0; i < 5; i++) await client.withNamespace(`ns${i}`).containers.Create({ container: container(`c${i}`, { i: String(i) }) as Container });
  await client.namespaces.Update({ name: 'ns0', setLabels: { k: 'v' } });
  client.close();
  await stopCore(core, 'SIGKILL');
  assert.ok(existsSync(core.address), 'a killed core leaves its socket');

  const again = await restart(); // takes over the stale socket
  const c2 = new CoreClient(again.address);
  try {
    const names = (await c2.namespaces.List({})).namespaces.map((n) => n.name);
    assert.deepEqual(names, ['ns0', 'ns1', 'ns2', 'ns3', 'ns4']);
    assert.deepEqual((await c2.namespaces.Get({ name: 'ns0' })).namespace!.labels, { k: 'v' });
    for (let i = 0; i < 5; i++) {
      const c = (await c2.withNamespace(`ns${i}`).containers.Get({ id: `c${i}` })).container!;
      assert.deepEqual(c.labels, { i: String(i) });
    }
  } finally {
    c2.close();
  }
  assert.equal(await stopCore(again, 'SIGTERM'), 0);
  assert.ok(!existsSync(again.address), 'a stopped core removes its socket');
}));

test('berth-ctr drives namespaces and containers; errors exit 1 naming the object', () => withCore(async (core) => {
  const rootfs = join(core.dir, 'rootfs');
  mkdirSync(rootfs);
  assert.equal(ctr(core, 'namespaces', 'create', 'web', 'team=x').status, 0);
  assert.match(ctr(core, 'namespaces', 'ls').stdout, /^web\s+team=x$/m);
  const made = ctr(core, '-n', 'web', 'containers', 'create', 'c1', '--rootfs', rootfs, '--label', 'app=web', '--', 'sh', '-c', 'echo hi');
  assert.equal(made.status, 0, made.stderr);
  const dup = ctr(core, '-n', 'web', 'containers', 'create', 'c1', '--rootfs', rootfs);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /^berth-ctr: container c1 already exists in namespace web$/m);
  assert.match(ctr(core, '-n', 'web', 'containers', 'ls').stdout, /^c1\s+-\s+berth-runtime\s+app=web$/m);
  const info = JSON.parse(ctr(core, '-n', 'web', 'containers', 'info', 'c1').stdout) as { rootfs: string; spec: { process: { args: string[] }; root: { path: string } } };
  assert.deepEqual(info.spec.process.args, ['sh', '-c', 'echo hi']);
  assert.equal(info.spec.root.path, rootfs);
  assert.equal(ctr(core, '-n', 'web', 'containers', 'label', 'c1', 'app=', 'tier=db').status, 0);
  assert.equal(ctr(core, '-n', 'web', 'containers', 'ls', '-q', '--filter', 'labels.tier==db').stdout, 'c1\n');
  const missing = ctr(core, '-n', 'web', 'containers', 'rm', 'nope');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /container nope not found in namespace web/);
  const busy = ctr(core, 'namespaces', 'rm', 'web');
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, /cannot delete namespace web: it still holds 1 container/);
  assert.equal(ctr(core, '-n', 'web', 'containers', 'rm', 'c1').status, 0);
  assert.equal(ctr(core, 'namespaces', 'rm', 'web').status, 0);
  const down = spawnSync(ctrBin, ['--address', join(core.dir, 'none.sock'), 'namespaces', 'ls'], { encoding: 'utf8' });
  assert.equal(down.status, 1);
  assert.match(down.stderr, /cannot reach berth-core at .*none\.sock: no such socket/);
}));

test('berth-ctr events streams until interrupted', () => withCore(async (core, client) => {
  const proc = spawn(ctrBin, ['--address', core.address, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  try {
    await new Promise((r) => setTimeout(r, 1500));
    await client.containers.Create({ container: container('ev1') as Container });
    for (let i = 0; i < 50 && !out.includes('/containers/create'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, / default \/containers\/create \{"id":"ev1"/);
  } finally {
    proc.kill('SIGINT');
  }
  assert.equal(await exited, 0);
}));

test('a config file adds runc to the runtime table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-core-cfg-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ runtimes: { runc: { path: '/usr/sbin/runc', args: [] } } }));
  return withCore(async (_core, client) => {
    const c = (await client.containers.Create({ container: container('r1', {}, 'runc') as Container })).container!;
    assert.equal(c.runtime?.name, 'runc');
  }, ['--config', config]).finally(() => rmSync(dir, { recursive: true, force: true }));
});
