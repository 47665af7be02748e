/**
 * The core's durable records reach the disk before their call returns:
 * a container create or delete (and a namespace made with it) is one
 * fdatasync of the metadata WAL, made by the core itself after a
 * synchronous=NORMAL commit (db.ts, durableTransaction) — not SQLite's
 * fsync, which also forces a journal commit of every other process's
 * metadata; task rows are written without any flush (volatileTransaction).
 * Seen with strace on a child process that drives the metadata store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasStrace = spawnSync('strace', ['-V']).status === 0;

const DRIVER = `
import { accessSync } from 'node:fs';
import { openMetadataStore } from ${JSON.stringify(join(repo, 'src/core/metadata/store.ts'))};
const mark = (m) => { try { accessSync('/berth-mark-' + m); } catch {} };
const store = openMetadataStore(process.argv[2]);
const record = (id) => ({ namespace: 'n1', id, image: '', spec: Buffer.from('{}'), runtime: { name: 'berth-runtime', options: Buffer.alloc(0) },
  rootfs: '/', snapshotKey: '', snapshotter: '', labels: {} });
const task = { namespace: 'n1', id: 'a', status: 'creating', pid: 0, shimPid: 0, socket: '/s', bundle: '/b', shimState: '/b/shim',
  runtimePath: '/r', runtimeArgs: [], log: '/l', terminal: false, stdin: false, exitStatus: 0, exitedAt: 0n, reason: '' };
mark('create');
store.transaction(() => { store.namespaces.ensure('n1'); store.containers.create(record('a')); });
mark('task');
store.tasks.create(task);
store.tasks.delete('n1', 'a');
mark('delete');
store.containers.delete('n1', 'a');
mark('end');
store.close();
`;

interface Flush { call: string; file: string }

/** fsync-family calls between markers, by section. */
function sections(trace: string): Record<string, Flush[]> {
  const out: Record<string, Flush[]> = {};
  let current = 'open';
  for (const line of trace.split('\n')) {
    const mark = /berth-mark-([a-z]+)/.exec(line);
    if (mark) { current = mark[1]!; out[current] = []; continue; }
    const m = /\b(fsync|fdatasync)\(\d+<([^>]*)>\)/.exec(line);
    if (m) (out[current] ??= []).push({ call: m[1]!, file: m[2]! });
  }
  return out;
}

test('a container record is flushed with one fdatasync of the WAL; task rows are not flushed', { skip: !hasStrace && 'strace is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-durable-commit-'));
  try {
    const script = join(dir, 'driver.mts');
    writeFileSync(script, DRIVER);
    const traceFile = join(dir, 'trace');
    const r = spawnSync('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync,access,faccessat,faccessat2', '-o', traceFile,
      process.execPath, '--import', 'tsx', script, join(dir, 'meta.db')], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const s = sections(readFileSync(traceFile, 'utf8'));
    const wal = join(dir, 'meta.db-wal');
    const onWal = (fs: Flush[] | undefined): string[] => (fs ?? []).filter((f) => f.file === wal).map((f) => f.call);
    // the namespace and the container: one transaction, one flush, and it is fdatasync
    assert.deepEqual(onWal(s.create), ['fdatasync'], JSON.stringify(s.create));
    assert.deepEqual(onWal(s.task), [], 'task rows are written without a flush');
    assert.deepEqual(onWal(s.delete), ['fdatasync'], JSON.stringify(s.delete));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
