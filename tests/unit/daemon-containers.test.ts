/**
 * berthd's container model without a kernel: names, restart policies and
 * their backoff, ps's status text and filters, the store's lookups and
 * name conflicts on a real SQLite state DB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFilters } from '../../src/api/query.js';
import {
  ContainerStore, generateName, humanDuration, listPredicate, nextBackoff, normalizeName, parseSignal, restartOnDaemonStart, shouldRestart,
  statusText, summaryDocument, validatePolicy, type ContainerRecord,
} from '../../src/daemon/containers/index.js';
import { openStateDb } from '../../src/daemon/state/db.js';

function record(id: string, name: string, change: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ID: id, Name: name, Created: new Date(1_000_000).toISOString(), CreatedMs: 1_000_000, ImageName: 'busybox', Image: `sha256:${'b'.repeat(64)}`,
    Config: { Cmd: ['sh', '-c', 'exit 1'], Labels: { app: 'web' } }, HostConfig: { NetworkMode: 'bridge' },
    State: { Status: 'exited', Pid: 0, ExitCode: 1, Error: '', StartedAt: new Date(1_000_000).toISOString(), FinishedAt: new Date(2_000_000).toISOString(), OOMKilled: false, StoppedByUser: false, RemovalInProgress: false },
    RestartCount: 0, Driver: 'overlayfs', Snapshotter: 'overlayfs', Platform: 'linux', Runtime: 'berth-runtime', LogPath: '', ResolvConfPath: '', HostnamePath: '', HostsPath: '',
    Mounts: [], NetworkSettings: { Networks: { bridge: {} } }, NetnsPath: '', AppArmorProfile: '', SpecInputs: { user: { uid: 0, gid: 0, additionalGids: [], home: '/' }, mounts: [] },
    ...change,
  };
}

test('names: Docker\'s rules, the leading slash, generated adjective_surname', () => {
  assert.equal(normalizeName('web'), '/web');
  assert.equal(normalizeName('/web.1_a-b'), '/web.1_a-b');
  assert.throws(() => normalizeName('-x'), /Invalid container name \(-x\)/);
  assert.throws(() => normalizeName('a'), /Invalid container name/);
  for (let i = 0; i < 20; i++) assert.match(generateName(), /^[a-z]+_[a-z_]+$/);
});

test('restart policies: no, always, unless-stopped, on-failure[:N]; a user stop wins', () => {
  const f = (Name: string, exitCode: number, restartCount = 0, stoppedByUser = false, MaximumRetryCount = 0) =>
    shouldRestart({ policy: { Name: Name as 'no', MaximumRetryCount }, exitCode, restartCount, stoppedByUser });
  assert.equal(f('no', 1), false);
  assert.equal(f('always', 0), true);
  assert.equal(f('always', 0, 0, true), false);
  assert.equal(f('unless-stopped', 0), true);
  assert.equal(f('on-failure', 0), false);
  assert.equal(f('on-failure', 1, 5), true);
  assert.equal(f('on-failure', 1, 1, false, 2), true);
  assert.equal(f('on-failure', 1, 2, false, 2), false);
  assert.equal(restartOnDaemonStart({ Name: 'always' }, true), true);
  assert.equal(restartOnDaemonStart({ Name: 'unless-stopped' }, true), false);
  assert.equal(restartOnDaemonStart({ Name: 'on-failure' }, false), false);
  assert.throws(() => validatePolicy({ Name: 'always', MaximumRetryCount: 3 }, false), /only be used with 'on-failure'/);
  assert.throws(() => validatePolicy({ Name: 'always' }, true), /AutoRemove/);
  assert.throws(() => validatePolicy({ Name: 'sometimes' as 'no' }, false), /unknown policy/);
});

test('backoff: 100 ms doubling, capped, reset after a 10 s run', () => {
  let d = nextBackoff(0, 0);
  assert.equal(d, 100);
  d = nextBackoff(d, 50); assert.equal(d, 200);
  d = nextBackoff(d, 50); assert.equal(d, 400);
  assert.equal(nextBackoff(40_000, 0), 60_000);
  assert.equal(nextBackoff(6400, 10_000), 100);
});

test('signals by name, short name or number', () => {
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('10'), 10);
  assert.throws(() => parseSignal('SIGNOPE'), /Invalid signal/);
});

test('ps status text and summary as dockerd words them', () => {
  assert.equal(humanDuration(400), 'Less than a second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(61_000), 'About a minute');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
  const c = record('1'.repeat(64), '/web');
  assert.equal(statusText(c, 2_003_000), 'Exited (1) 3 seconds ago');
  assert.equal(statusText({ ...c, State: { ...c.State, Status: 'running' } }, 1_002_000), 'Up 2 seconds');
  assert.equal(statusText({ ...c, State: { ...c.State, Status: 'paused' } }, 1_002_000), 'Up 2 seconds (Paused)');
  assert.equal(statusText({ ...c, State: { ...c.State, Status: 'created' } }), 'Created');
  const s = summaryDocument(c, undefined, 2_003_000);
  assert.equal(s.Command, 'sh -c exit 1');
  assert.deepEqual(s.Names, ['/web']);
  assert.equal(s.Created, 1000);
});

test('store: unique names with Docker\'s conflict, lookups by ID, name and prefix; filters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-containers-'));
  const db = openStateDb(join(dir, 'state.db'));
  try {
    const store = new ContainerStore(db);
    const a = record(`abc${'1'.repeat(61)}`, '/web', { CreatedMs: 1 });
    const b = record(`abd${'2'.repeat(61)}`, '/db', { CreatedMs: 2, ImageName: 'nginx:1', Config: { Cmd: ['x'], Labels: { app: 'db' } }, State: { ...a.State, Status: 'running' } });
    store.insert(a);
    store.insert(b);
    assert.throws(() => store.insert(record('f'.repeat(64), '/web')), new RegExp(`Conflict. The container name "/web" is already in use by container "${a.ID}". You have to remove \\(or rename\\) that container to be able to reuse that name.`));
    assert.equal(store.find('web').ID, a.ID);
    assert.equal(store.find('/db').ID, b.ID);
    assert.equal(store.find('abc').ID, a.ID);
    assert.throws(() => store.find('ab'), /multiple IDs found with provided prefix: ab/);
    assert.throws(() => store.find('zzz'), /No such container: zzz/);
    assert.deepEqual(store.list().map((c) => c.Name), ['/db', '/web']);
    const pick = (f: Record<string, string[]>) => {
      const filters = parseFilters(JSON.stringify(f));
      const p = listPredicate(filters, store.list(), (r) => store.find(r));
      return store.list().filter(p).map((c) => c.Name);
    };
    assert.deepEqual(pick({ status: ['running'] }), ['/db']);
    assert.deepEqual(pick({ label: ['app=web'] }), ['/web']);
    assert.deepEqual(pick({ ancestor: ['nginx'] }), ['/db']);
    assert.deepEqual(pick({ ancestor: ['busybox:latest'] }), ['/web']);
    assert.deepEqual(pick({ exited: ['1'] }), ['/web']);
    assert.deepEqual(pick({ since: ['web'] }), ['/db']);
    assert.deepEqual(pick({ before: ['db'] }), ['/web']);
    assert.deepEqual(pick({ name: ['^w'] }), ['/web']);
    assert.deepEqual(pick({ id: ['abd'] }), ['/db']);
    assert.throws(() => pick({ status: ['sleeping'] }), /invalid filter 'status=sleeping'/);
    b.Name = '/web';
    assert.throws(() => store.save(b), /Conflict/);
    store.delete(a.ID);
    store.save(b);
    assert.equal(store.find('web').ID, b.ID);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
