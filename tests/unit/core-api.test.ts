import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { API_FILES, API_PACKAGE, protoDir } from '../../src/core/api/proto.js';
import { MESSAGE_FIELDS } from '../../src/core/api/types.js';
import { parseConfigFile } from '../../src/core/config.js';

const camel = (s: string): string => s.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase());

test('the TypeScript message types match proto/ field for field', () => {
  const def = protoLoader.loadSync(API_FILES, { includeDirs: [protoDir()] });
  for (const [message, fields] of Object.entries(MESSAGE_FIELDS)) {
    const t = def[`${API_PACKAGE}.${message}`] as { type?: { field: { name: string }[] } } | undefined;
    assert.ok(t?.type, `message ${message} is in proto/`);
    assert.deepEqual(t.type.field.map((f) => camel(f.name)), fields, message);
  }
});

test('every Tasks method is declared', () => {
  const def = protoLoader.loadSync(API_FILES, { includeDirs: [protoDir()] });
  const tasks = def[`${API_PACKAGE}.Tasks`] as Record<string, unknown>;
  assert.deepEqual(Object.keys(tasks).sort(), ['Attach', 'CloseIO', 'Create', 'Delete', 'DeleteProcess', 'Exec', 'Kill', 'List', 'Metrics',
    'Pause', 'ResizePty', 'Resume', 'Start', 'State', 'Update', 'Wait'].sort());
  const attach = tasks.Attach as { requestStream: boolean; responseStream: boolean };
  assert.equal(attach.requestStream, true);
  assert.equal(attach.responseStream, true);
});

test('config file: runtimes are added to berth-runtime, unknown keys refused', () => {
  const c = parseConfigFile('c.json', JSON.stringify({ 'log-level': 'debug', runtimes: { runc: { path: '/usr/sbin/runc', args: ['--debug'] } } }));
  assert.equal(c.logLevel, 'debug');
  // berth-sandbox and berth-vm join when this installation built them
  assert.deepEqual(Object.keys(c.runtimes).filter((n) => n !== 'berth-sandbox' && n !== 'berth-vm').sort(), ['berth-runtime', 'runc']);
  assert.deepEqual(c.runtimes.runc, { path: '/usr/sbin/runc', args: ['--debug'] });
  assert.throws(() => parseConfigFile('c.json', '{"adress":"/x"}'), /unknown key "adress"/);
  assert.throws(() => parseConfigFile('c.json', '{"default-runtime":"crun"}'), /default-runtime crun is not in runtimes/);
  assert.throws(() => parseConfigFile('c.json', '{"log-level":"loud"}'), /log-level "loud"/);
});
