/**
 * Differences found by running the same docker CLI command lines against
 * dockerd 20.10 and berthd (exit code, output, error text), each checked
 * here through the docker CLI as dockerd answers: `run --rm` after a failed
 * start (dockerd removes the container, the CLI waits for that), a failed
 * start's words (the CLI takes 126/127 from them), values dockerd refuses at
 * create, a missing network at create (not a 404, which makes the CLI pull),
 * kill's error naming the kill, and a missing image named with its tag.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxTar, docker, dockerOk, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args).trim();
const all = (): string[] => docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
/** The daemon's message as the CLI prints it, and the CLI's exit code. */
const fails = (args: string[]): { code: number | null; err: string } => {
  const r = docker(b.sock, args);
  return { code: r.status, err: r.stderr };
};

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h62-'));
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'ENV PATH=/bin', busyboxTar(dir), 'bb:1']);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

test('run --rm whose start fails ends with the exit code of the failure and removes the container', { skip }, () => {
  for (const [args, code, words] of [
    [['bb:1', 'nosuchcmd'], 127, 'exec: "nosuchcmd": executable file not found in $PATH'],
    [['bb:1', '/etc'], 126, 'exec: "/etc": permission denied'],
    [['--entrypoint', '/nope', 'bb:1'], 127, 'exec: "/nope": no such file or directory'],
    [['--network', 'container:nosuch', 'bb:1', 'true'], 125, 'No such container: nosuch'],
  ] as const) {
    const r = fails(['run', '--rm', ...args]);
    // the CLI waited for a removal that never came: killed by the helper's timeout (status null)
    assert.equal(r.code, code, `run --rm ${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`Error response from daemon: .*${words.replace(/[$"]/g, '\\$&')}`));
    assert.doesNotMatch(r.err, /level=error|berth-runtime:/);
    assert.deepEqual(all(), []);
  }
  // without --rm the container stays, created, with the code
  assert.equal(fails(['run', '--name', 'keep', 'bb:1', '/etc']).code, 126);
  assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'keep']), 'created 126');
  ok(['rm', 'keep']);
});

test('values dockerd refuses at create are refused with its words, nothing made', { skip }, () => {
  for (const [args, words] of [
    [['--cpus', '-1'], 'Range of CPUs is from 0.01 to'],
    [['--cpus', '512'], 'Range of CPUs is from 0.01 to'],
    [['--cpuset-cpus', '999'], 'Requested CPUs are not available - requested 999, available: '],
    [['--cpuset-cpus', 'abc'], 'Invalid value abc for cpuset cpus: invalid format: abc'],
    [['--cpu-shares', '-5'], 'shares: invalid argument'],
    [['--stop-signal', 'BOGUS'], 'Invalid signal: BOGUS'],
    [['--ipc', 'bogus'], 'Invalid IPC mode: bogus'],
    [['--oom-score-adj', '5000'], 'Invalid value 5000, range for oom score adj is [-1000, 1000]'],
    [['--memory', '64m', '--memory-reservation', '1g'], 'Minimum memory limit can not be less than memory reservation limit, see usage'],
    [['--network', 'nosuchnet'], 'network nosuchnet not found'],
  ] as const) {
    const r = fails(['run', '--rm', ...args, 'bb:1', 'true']);
    assert.equal(r.code, 125, `${args.join(' ')}: ${r.err}`);
    assert.ok(r.err.includes(`Error response from daemon: ${words}`), `${args.join(' ')}: ${r.err}`);
    assert.doesNotMatch(r.err, /Unable to find image|Pulling/);
    assert.deepEqual(all(), []);
  }
  ok(['run', '-d', '--name', 'up', 'bb:1', 'sleep', '300']);
  const r = fails(['update', '--cpus', '-1', 'up']);
  assert.equal(r.code, 1);
  assert.match(r.err, /Range of CPUs is from 0\.01 to/);
  ok(['rm', '-f', 'up']);
});

test('kill names the kill in its errors; a missing image is named with its tag', { skip }, () => {
  assert.equal(fails(['kill', 'ghost']).err, 'Error response from daemon: Cannot kill container: ghost: No such container: ghost\n');
  ok(['create', '--name', 'idle', 'bb:1', 'true']);
  assert.match(fails(['kill', 'idle']).err, /^Error response from daemon: Cannot kill container: idle: Container [0-9a-f]{64} is not running\n$/);
  ok(['rm', 'idle']);
  for (const args of [['rmi', 'ghost'], ['tag', 'ghost', 'x:1'], ['history', 'ghost'], ['image', 'inspect', 'ghost']]) {
    assert.match(fails(args).err, /Error response from daemon: No such image: ghost:latest\n/, args.join(' '));
  }
  assert.match(fails(['rmi', 'ghost:2']).err, /No such image: ghost:2\n/);
});

test('the primary group is a supplementary group too, for run and exec (id as dockerd shows it)', { skip }, () => {
  // bb:1 has no /etc/passwd or /etc/group: id prints numbers (dockerd: groups=0 likewise, not empty)
  assert.equal(ok(['run', '--rm', 'bb:1', 'id']), 'uid=0 gid=0 groups=0');
  assert.equal(ok(['run', '--rm', '-u', '1000:10', 'bb:1', 'id']), 'uid=1000 gid=10 groups=10');
  assert.equal(ok(['run', '--rm', '-u', '4242', 'bb:1', 'id']), 'uid=4242 gid=0 groups=0');
  ok(['run', '-d', '--name', 'ids', 'bb:1', 'sleep', '300']);
  assert.equal(ok(['exec', '-u', '1000:10', 'ids', 'id']), 'uid=1000 gid=10 groups=10');
  ok(['rm', '-f', 'ids']);
});

test('network connect with both the network and the container missing names the container, as dockerd', { skip }, () => {
  const r = fails(['network', 'connect', 'nosuchnet', 'nosuchctr']);
  assert.equal(r.code, 1);
  assert.match(r.err, /No such container: nosuchctr/);
  ok(['create', '--name', 'lonely', 'bb:1', 'true']);
  const n = fails(['network', 'connect', 'nosuchnet', 'lonely']);
  assert.equal(n.code, 1);
  assert.match(n.err, /network nosuchnet not found/);
  ok(['rm', 'lonely']);
});
