/**
 * A failed call whose message would be huge (a 100 KB name echoed back in
 * "not found") still fails promptly: the core caps the status message,
 * which travels in an HTTP/2 trailer that a peer drops whole when it is too
 * large — the caller would otherwise wait forever. Needs root and a build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreClient } from '../../src/core/client.js';
import { MAX_STATUS_DETAILS } from '../../src/core/errors.js';
import { kill9, ready, skip, spawnCore } from '../helpers/core.js';

test('a 100 KB image name gets a prompt, capped not-found', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-longerr-it-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({}));
  const address = join(dir, 'core.sock');
  const core = await ready(spawnCore(dir, address), address);
  const client = new CoreClient(address);
  try {
    const name = `127.0.0.1:5000/${'x'.repeat(100_000)}:latest`;
    const started = Date.now();
    const err = await Promise.race([
      client.images.Get({ name }).then(() => new Error('the get succeeded'), (e: unknown) => e as Error),
      new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('no answer within 10 s')), 10_000)),
    ]);
    assert.notEqual(err.message, 'no answer within 10 s');
    assert.notEqual(err.message, 'the get succeeded');
    assert.ok(Date.now() - started < 10_000);
    assert.ok(err.message.length <= MAX_STATUS_DETAILS, `message of ${err.message.length} characters`);
    assert.match(err.message, /truncated|not found|invalid/);
  } finally {
    client.close();
    await kill9(core);
    rmSync(dir, { recursive: true, force: true });
  }
});
