import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthConfig } from '../../src/daemon/health/config.js';
import { applyResult, newHealth, statusSuffix } from '../../src/daemon/health/state.js';

const r = (code: number): { Start: string; End: string; ExitCode: number; Output: string } => ({ Start: '', End: '', ExitCode: code, Output: '' });

test('health configs: CMD, CMD-SHELL, NONE, defaults', () => {
  assert.deepEqual(healthConfig({ Test: ['CMD-SHELL', 'test -f /ok'] })!.cmd, ['/bin/sh', '-c', 'test -f /ok']);
  assert.deepEqual(healthConfig({ Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 }), { cmd: ['true'], intervalMs: 1000, timeoutMs: 30000, startPeriodMs: 0, startIntervalMs: 5000, retries: 2 });
  assert.equal(healthConfig({ Test: ['NONE'] }), undefined);
  assert.equal(healthConfig(undefined), undefined);
});

test('retries failures make it unhealthy, one success healthy; start-period failures do not count', () => {
  const h = newHealth();
  assert.equal(applyResult(h, r(1), true, 2), undefined);
  assert.equal(h.FailingStreak, 0);
  assert.equal(applyResult(h, r(1), false, 2), undefined);
  assert.equal(applyResult(h, r(1), false, 2), 'unhealthy');
  assert.equal(applyResult(h, r(0), false, 2), 'healthy');
  assert.equal(h.FailingStreak, 0);
  for (let i = 0; i < 6; i++) applyResult(h, r(0), false, 2);
  assert.equal(h.Log.length, 5);
  assert.equal(statusSuffix('starting'), ' (health: starting)');
});
