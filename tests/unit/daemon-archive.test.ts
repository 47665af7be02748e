import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveInRoot } from '../../src/daemon/archive/resolve.js';
import { goFileMode } from '../../src/daemon/archive/stat.js';

test('paths resolve inside the root whatever the links say', () => {
  const root = mkdtempSync(join(tmpdir(), 'daemon-archive-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), '');
    symlinkSync('../../../../../..', join(root, 'up'));
    symlinkSync('/etc', join(root, 'abs'));
    symlinkSync('loop', join(root, 'loop'));
    assert.equal(resolveInRoot(root, '/up/etc/passwd', true).host, join(root, 'etc', 'passwd'));
    assert.equal(resolveInRoot(root, '/abs/passwd', true).inContainer, '/etc/passwd');
    assert.equal(resolveInRoot(root, '/../../etc', true).host, join(root, 'etc'));
    assert.equal(resolveInRoot(root, '/abs', false).host, join(root, 'abs'));
    assert.equal(resolveInRoot(root, '/missing/x', true).inContainer, '/missing/x');
    assert.throws(() => resolveInRoot(root, '/loop/x', true), /too many levels/);
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('modes are Go FileModes', () => {
  assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755);
  assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
  assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755);
  assert.equal(goFileMode(0o100644), 0o644);
});
