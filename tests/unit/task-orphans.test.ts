import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orphanBundles, sweepOrphanBundles } from '../../src/core/tasks/orphans.js';

function stateRoot(): string {
  const state = mkdtempSync(join(tmpdir(), 'berth-orphans-'));
  for (const d of ['default/kept', 'default/orphan', 'other/orphan2', 's']) mkdirSync(join(state, d), { recursive: true });
  writeFileSync(join(state, 'default', 'orphan', 'config.json'), '{}');
  writeFileSync(join(state, 's', 'abc.sock'), '');
  writeFileSync(join(state, 'planner.sock'), '');
  writeFileSync(join(state, 'default', 'not-a-bundle'), '');
  return state;
}

test('orphan bundles: directories under <state>/<ns>/ without a task row; the sockets dir and files are never candidates', () => {
  const state = stateRoot();
  try {
    const has = (ns: string, id: string): boolean => ns === 'default' && id === 'kept';
    assert.deepEqual(orphanBundles(state, has).sort(), [join(state, 'default', 'orphan'), join(state, 'other', 'orphan2')]);
    assert.deepEqual(orphanBundles(join(state, 'missing'), has), []);
  } finally { rmSync(state, { recursive: true, force: true }); }
});

test('the sweep removes orphans only, and reports one it cannot remove', () => {
  const state = stateRoot();
  try {
    const failed: string[] = [];
    const removed = sweepOrphanBundles(state, (ns, id) => ns === 'default' && id === 'kept', (dir) => {
      if (dir.endsWith('orphan2')) throw new Error('busy');
      rmSync(dir, { recursive: true });
    }, (dir) => failed.push(dir));
    assert.deepEqual(removed, [join(state, 'default', 'orphan')]);
    assert.deepEqual(failed, [join(state, 'other', 'orphan2')]);
    assert.ok(existsSync(join(state, 'default', 'kept')));
    assert.ok(existsSync(join(state, 's', 'abc.sock')));
    assert.ok(!existsSync(join(state, 'default', 'orphan')));
  } finally { rmSync(state, { recursive: true, force: true }); }
});
