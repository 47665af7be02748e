/**
 * Three places where berthd answered differently from Debian's dockerd
 * (each checked against it first), driven by the real docker CLI and the
 * API: a paused container under kill, stop and rm (-f), also with a
 * SIGKILL left pending in the frozen task by a berthd killed -9 before its
 * thaw; ExecIDs in inspect (the execs created or running, none once the
 * container stops); RepoDigests of a loaded image ([] as dockerd's classic
 * store records no digest at load, unless the name already had that
 * manifest from a registry).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/runtime.js';
import { busyboxTar, call, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, stop, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { registrySkip, startRegistry } from '../helpers/registry.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls inspect's `format` of `name` until it prints `want` (or 10 s pass); returns what it printed last. */
async function inspectUntil(name: string, format: string, want: string): Promise<string> {
  let got = '';
  for (let i = 0; i < 100; i++) {
    got = docker(b.sock, ['inspect', '--format', format, name]).stdout.trim();
    if (got === want) break;
    await sleep(100);
  }
  return got;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h60-'));
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', busyboxTar(dir), 'bb:1']);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

const STATE = '{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}';

test('a paused container under kill, stop and rm answers as dockerd', { skip }, async () => {
  // docker kill (SIGKILL) thaws it: it exits 137 instead of staying frozen with the signal pending
  ok(['run', '-d', '--name', 'pk', 'bb:1', 'sleep', '1000']);
  ok(['pause', 'pk']);
  ok(['kill', 'pk']);
  assert.equal(await inspectUntil('pk', STATE, 'exited 137 false'), 'exited 137 false');
  // with no stop signal set, any signal thaws it (busybox sleep as pid 1 ignores TERM: it runs on)
  ok(['run', '-d', '--name', 'pt', 'bb:1', 'sleep', '1000']);
  ok(['pause', 'pt']);
  ok(['kill', '-s', 'TERM', 'pt']);
  assert.equal(await inspectUntil('pt', STATE, 'running 0 false'), 'running 0 false');
  // rm without -f names the way out dockerd names
  ok(['run', '-d', '--name', 'pr', 'bb:1', 'sleep', '1000']);
  ok(['pause', 'pr']);
  const id = ok(['inspect', '--format', '{{.Id}}', 'pr']);
  const rm = docker(b.sock, ['rm', 'pr']);
  assert.notEqual(rm.status, 0);
  assert.match(rm.stderr, new RegExp(`You cannot remove a paused container ${id}\\. Unpause and then stop the container before attempting removal or force remove`));
  ok(['rm', '-f', 'pr']);
  // stop: thawed, TERM ignored, SIGKILL after the timeout
  ok(['run', '-d', '--name', 'ps', 'bb:1', 'sleep', '1000']);
  ok(['pause', 'ps']);
  ok(['stop', '-t', '1', 'ps']);
  assert.equal(ok(['inspect', '--format', STATE, 'ps']), 'exited 137 false');
  ok(['rm', '-f', 'pk', 'pt', 'ps']);
  assert.equal(ok(['ps', '-aq']), '');
});

test('rm -f of a paused container with a SIGKILL pending (berthd killed -9 before its thaw) removes it', { skip }, async () => {
  ok(['run', '-d', '--name', 'pend', 'bb:1', 'sleep', '1000']);
  ok(['pause', 'pend']);
  const id = ok(['inspect', '--format', '{{.Id}}', 'pend']);
  // the kill reaches the frozen task and nothing thaws it: what a berthd killed between the two leaves
  const ctr = spawnSync(join(REPO, 'bin', 'berth-ctr'), ['--address', join(l.execRoot, 'core.sock'), '-n', 'berthd', 'tasks', 'kill', '-s', 'SIGKILL', id], { encoding: 'utf8' });
  assert.equal(ctr.status, 0, ctr.stderr);
  await stop(b, 'SIGKILL');
  b = await ready(spawnBerthd(l));
  assert.equal(ok(['inspect', '--format', STATE, 'pend']), 'paused 0 true');
  ok(['rm', '-f', 'pend']);
  assert.equal(ok(['ps', '-aq']), '');
});

interface ExecIds { ExecIDs: string[] | null }

test('ExecIDs lists the execs created or running, none ended, none once the container stops', { skip }, async () => {
  ok(['run', '-d', '--name', 'ex', 'bb:1', 'sleep', '1000']);
  const ids = async (): Promise<string[] | null> => (JSON.parse((await call(b.sock, 'GET', '/containers/ex/json')).body) as ExecIds).ExecIDs;
  assert.equal(await ids(), null);
  const json = { 'Content-Type': 'application/json' };
  const create = async (cmd: string[]): Promise<string> => {
    const r = await call(b.sock, 'POST', '/containers/ex/exec', JSON.stringify({ Cmd: cmd }), json);
    assert.equal(r.status, 201, r.body);
    return (JSON.parse(r.body) as { Id: string }).Id;
  };
  const made = await create(['sleep', '30']);
  assert.deepEqual(await ids(), [made]); // created, not started: listed
  const s = await call(b.sock, 'POST', `/exec/${made}/start`, JSON.stringify({ Detach: true }), json);
  assert.equal(s.status, 200, s.body);
  const quick = await create(['true']);
  assert.deepEqual((await ids())?.sort(), [made, quick].sort()); // running and created
  const q = await call(b.sock, 'POST', `/exec/${quick}/start`, JSON.stringify({ Detach: false }), json);
  assert.equal(q.status, 200, q.body);
  let now = await ids();
  for (let i = 0; i < 50 && JSON.stringify(now) !== JSON.stringify([made]); i++) { await sleep(100); now = await ids(); }
  assert.deepEqual(now, [made]); // the ended one is gone, the running one stays
  ok(['exec', 'ex', 'true']);
  assert.deepEqual(await ids(), [made]);
  ok(['stop', '-t', '1', 'ex']);
  assert.equal(await ids(), null);
  ok(['rm', '-f', 'ex']);
});

test('a loaded image has no RepoDigest, unless its name had that manifest from a registry', { skip: skip || registrySkip }, async () => {
  const archive = join(dir, 'saved.tar');
  // made here, saved, loaded into an engine without it
  ok(['import', busyboxTar(dir, { '/etc/made-here': '1\n' }), 'ld:1']);
  ok(['save', '-o', archive, 'ld:1']);
  ok(['rmi', 'ld:1']);
  assert.match(ok(['load', '-i', archive]), /Loaded image: ld:1/);
  assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'ld:1']), '[]');
  assert.equal(ok(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', 'ld']), 'ld:1 <none>');
  const reg = await startRegistry('anonymous');
  const remote = `${reg.host}/ld:1`;
  try {
    ok(['tag', 'ld:1', remote]);
    ok(['push', remote]);
    ok(['rmi', 'ld:1', remote]);
    ok(['pull', remote]);
    const pulled = ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]);
    assert.match(pulled, new RegExp(`^\\["${reg.host}/ld@sha256:[0-9a-f]{64}"\\]$`));
    ok(['save', '-o', archive, remote]);
    // loaded over the pulled image itself: the registry's digest stays (dockerd keeps it too)
    ok(['load', '-i', archive]);
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]), pulled);
    // the pulled image saved and loaded into an engine without it: no digest, as dockerd
    ok(['rmi', remote]);
    assert.match(ok(['load', '-i', archive]), new RegExp(`Loaded image: ${remote}`));
    assert.equal(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', remote]), '[]');
    ok(['rmi', remote]);
  } finally {
    await reg.stop();
  }
});
