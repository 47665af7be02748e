/**
 * State.Health in berthd's state DB: stored beside the container's record
 * (a save of the record leaves it alone, a removal takes it), read back
 * by shape; and /info's counts by State.Status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerStore, type ContainerRecord } from '../../src/daemon/containers/index.js';
import { parseHealth, type Health } from '../../src/daemon/health/state.js';
import { openStateDb } from '../../src/daemon/state/db.js';
import { containerCounts } from '../../src/daemon/system.js';

function record(id: string, status: ContainerRecord['State']['Status']): ContainerRecord {
  const at = new Date(1_000_000).toISOString();
  return {
    ID: id, Name: `/c-${id}`, Created: at, CreatedMs: 1_000_000, ImageName: 'busybox', Image: `sha256:${'b'.repeat(64)}`,
    Config: { Cmd: ['true'] }, HostConfig: { NetworkMode: 'bridge' },
    State: { Status: status, Pid: 0, ExitCode: 0, Error: '', StartedAt: at, FinishedAt: at, OOMKilled: false, StoppedByUser: false, RemovalInProgress: false },
    RestartCount: 0, Driver: 'overlayfs', Snapshotter: 'overlayfs', Platform: 'linux', Runtime: 'berth-runtime', LogPath: '', ResolvConfPath: '', HostnamePath: '', HostsPath: '',
    Mounts: [], NetworkSettings: { Networks: {} }, NetnsPath: '', AppArmorProfile: '', SpecInputs: { user: { uid: 0, gid: 0, additionalGids: [], home: '/' }, mounts: [] },
  };
}

function withStore(fn: (store: ContainerStore, reopen: () => ContainerStore) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-health-store-'));
  const dbs = [openStateDb(join(dir, 'state.db'))];
  try {
    fn(new ContainerStore(dbs[0]!), () => { dbs[0]!.close(); dbs[0] = openStateDb(join(dir, 'state.db')); return new ContainerStore(dbs[0]!); });
  } finally {
    dbs[0]!.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const healthy: Health = { Status: 'healthy', FailingStreak: 0, Log: [{ Start: 'a', End: 'b', ExitCode: 0, Output: 'ok' }] };

test('health is stored beside the record: a record save keeps it, a reopen reads it, a removal drops it', () => {
  withStore((store, reopen) => {
    const c = record('1'.repeat(64), 'running');
    store.insert(c);
    store.insert(record('2'.repeat(64), 'exited'));
    store.saveHealth(c.ID, healthy);
    store.save({ ...c, State: { ...c.State, Pid: 42 } });
    assert.deepEqual([...store.healths()], [[c.ID, healthy]]);
    const again = reopen();
    assert.deepEqual(parseHealth(again.healths().get(c.ID)), healthy);
    again.saveHealth('9'.repeat(64), healthy); // no such container: nothing written
    again.delete(c.ID);
    assert.equal(again.healths().size, 0);
  });
});

test('a stored health is read back only in its shape, its log at most five', () => {
  assert.equal(parseHealth(null), undefined);
  assert.equal(parseHealth({ Status: 'fine', FailingStreak: 0, Log: [] }), undefined);
  assert.equal(parseHealth({ Status: 'healthy', Log: [] }), undefined);
  const log = Array.from({ length: 7 }, (_, i) => ({ Start: `s${i}`, End: `e${i}`, ExitCode: i, Output: '' }));
  const h = parseHealth({ Status: 'unhealthy', FailingStreak: 3, Log: [...log, 'junk'] })!;
  assert.deepEqual(h.Log.map((r) => r.ExitCode), [2, 3, 4, 5, 6]);
});

test('/info counts: running and paused as such, every other state stopped', () => {
  withStore((store) => {
    const states = ['created', 'running', 'paused', 'exited', 'restarting', 'dead', 'removing', 'running'] as const;
    states.forEach((s, i) => store.insert(record(String(i).repeat(64), s)));
    assert.deepEqual(containerCounts(store.countByStatus()), { total: 8, running: 2, paused: 1, stopped: 5 });
    assert.deepEqual(containerCounts(new Map()), { total: 0, running: 0, paused: 0, stopped: 0 });
  });
});
