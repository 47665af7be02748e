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

test('diff lists changes in dockerd\'s order: depth first, what is there before what was deleted', { skip }, () => {
  ok(['run', '--name', 'changed', 'bb:1', 'sh', '-c', 'mkdir /a /a-b; touch /a/b /a-b/c /a.b; rm /bin/ls; echo y > /bin/yy; rm -r /root; mkdir /tmp/t']);
  // dockerd 20.10 gives these in this structure (its siblings in a Go map's order; ours by name)
  assert.deepEqual(ok(['diff', 'changed']).split('\n'), [
    'A /a', 'A /a/b', 'A /a-b', 'A /a-b/c', 'A /a.b', 'C /bin', 'A /bin/yy', 'D /bin/ls', 'C /tmp', 'A /tmp/t', 'D /root',
  ]);
  ok(['rm', 'changed']);
});

test('logs --details puts the (empty) attributes and a space before each line, after its timestamp', { skip }, () => {
  ok(['run', '--name', 'talk', 'bb:1', 'sh', '-c', 'echo one; echo two; printf end']);
  // dockerd 20.10: " one\n two\n end" (stdout), "TS  one" with -t
  assert.equal(dockerOk(b.sock, ['logs', '--details', 'talk']), ' one\n two\n end');
  const stamped = dockerOk(b.sock, ['logs', '--details', '-t', 'talk']).split('\n');
  assert.equal(stamped.length, 3);
  for (const [i, word] of ['one', 'two', 'end'].entries()) assert.match(stamped[i]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z  ${word}$`));
  assert.equal(dockerOk(b.sock, ['logs', 'talk']), 'one\ntwo\nend');
  ok(['rm', 'talk']);
});

test('rename and exec into a paused container fail with dockerd\'s words', { skip }, () => {
  ok(['run', '-d', '--name', 'r1', 'bb:1', 'sleep', '300']);
  ok(['create', '--name', 'r2', 'bb:1', 'true']);
  const id2 = ok(['inspect', '-f', '{{.Id}}', 'r2']);
  assert.equal(fails(['rename', 'ghost', 'x']).err, 'Error response from daemon: No such container: ghost\nError: failed to rename container named ghost\n');
  assert.match(fails(['rename', 'r1', 'r1']).err, /^Error response from daemon: Renaming a container with the same name as its current name\n/);
  assert.match(fails(['rename', 'r1', 'r2']).err, new RegExp(`^Error response from daemon: Error when allocating new name: Conflict\\. The container name "/r2" is already in use by container "${id2}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.\n`));
  assert.match(fails(['rename', 'r1', 'bad name!']).err, /^Error response from daemon: Error when allocating new name: Invalid container name \(\/bad name!\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_\.-\] are allowed\n/);
  ok(['pause', 'r1']);
  // named as the client named it (dockerd: the ref given, not the ID)
  assert.equal(fails(['exec', 'r1', 'true']).err, 'Error response from daemon: Container r1 is paused, unpause the container before exec\n');
  const short = ok(['inspect', '-f', '{{.Id}}', 'r1']).slice(0, 8);
  assert.equal(fails(['exec', short, 'true']).err, `Error response from daemon: Container ${short} is paused, unpause the container before exec\n`);
  ok(['unpause', 'r1']);
  assert.equal(ok(['exec', 'r1', 'echo', 'ok']), 'ok');
  ok(['rm', '-f', 'r1', 'r2']);
});
