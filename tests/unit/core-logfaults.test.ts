import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultReason, LogFaults } from '../../src/core/tasks/logfaults.js';

test('log fault reason: a full disk keeps its short form, other errors are named', () => {
  assert.equal(faultReason('cannot write log /x/y.log: no space left on device'), 'log: no space left');
  assert.equal(faultReason('cannot write log /x/y.log: input/output error'), 'log: input/output error');
  assert.equal(faultReason(undefined), 'log: no space left');
});

test('log faults: a grown error count starts a fault; it ends after a quiet while with room on the disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logfaults-'));
  try {
    const log = join(dir, 'x.log');
    const f = new LogFaults();
    assert.deepEqual(f.look('k', log, { logErrors: 0 }, 1000), { fault: '' });
    assert.deepEqual(f.look('k', log, { logErrors: 3, logError: 'cannot write log x: no space left on device' }, 2000), { fault: 'log: no space left', before: '' });
    // no new error but too soon to say it is over
    assert.deepEqual(f.look('k', log, { logErrors: 3 }, 2500), { fault: 'log: no space left' });
    assert.deepEqual(f.look('k', log, { logErrors: 3 }, 4000), { fault: '', before: 'log: no space left' });
    f.forget('k');
    // the shim out of reach: statfs decides (this disk has room)
    assert.deepEqual(f.look('k', log, undefined, 5000), { fault: '' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
