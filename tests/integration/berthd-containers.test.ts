/**
 * berthd's containers driven by the real docker CLI: create, start, ps,
 * inspect, stop, rm, name conflicts, exit codes through wait, --rm, restart
 * policies (on-failure:2, always across a berthd kill -9 and across a
 * simulated reboot: berthd, core, shims and containers killed, the exec
 * root's mounts and files gone), and what a container sees inside:
 * capabilities, --cap-drop ALL, --privileged, --read-only, --user,
 * --memory in its cgroup, masked /proc paths, read-only /proc/sys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxTar, call, docker, layout, leftovers, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;

let dir: string;
let l: Layout;
let b: Berthd;

/** Every container ID the tests made: none may leave a cgroup behind. */
const made = new Set<string>();

function ok(args: string[]): string {
  const r = docker(b.sock, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  const out = r.stdout.trim();
  if ((args[0] === 'run' || args[0] === 'create') && /^[0-9a-f]{64}$/.test(out)) made.add(out);
  return out;
}

function fails(args: string[]): string {
  const r = docker(b.sock, args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
}

const inspect = (ref: string, format: string): string => ok(['inspect', '--format', format, ref]);

/** The container's output, read from its json-file log (the logs route is another route family's). */
function output(ref: string): string {
  const path = inspect(ref, '{{.LogPath}}');
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { log: string }).log).join('');
}

/** Runs a container to its end; its exit code and output. */
function runToEnd(args: string[]): { code: number; out: string; id: string } {
  const id = ok(['run', '-d', ...args]);
  const code = Number(ok(['wait', id]));
  return { code, out: output(id), id };
}

async function until(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unmounts every mount under `path`, deepest first (a reboot's doing). */
function unmountUnder(path: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m === path || m.startsWith(`${path}/`)).sort().reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

function buildImage(): string {
  return busyboxTar(dir, {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n',
    'etc/group': 'root:x:0:\nuser:x:1000:\nextra:x:2000:user\n',
    'home/user/.keep': '',
  });
}

before(async () => {
  if (skip) return;
  // short: the core puts each shim's socket at <exec-root>/core/<ns>/<64-hex id>/shim.sock, within the 107 bytes a socket path may have
  dir = mkdtempSync('/tmp/c-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', buildImage(), 'busybox:latest']);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
  const cgroups = [...made].filter((id) => existsSync(join('/sys/fs/cgroup/memory', `berth-berthd-${id}`)) || existsSync(join('/sys/fs/cgroup/unified', `berth-berthd-${id}`)));
  assert.deepEqual(cgroups, []);
  assert.ok(made.size > 10);
});

test('create, start, ps, inspect, stop, rm; a taken name is a 409', { skip }, async () => {
  const id = ok(['create', '--name', 'web', '--label', 'app=web', 'busybox', 'sleep', '60']);
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(inspect('web', '{{.State.Status}} {{.State.ExitCode}} {{.Name}} {{.Config.Image}} {{.Path}} {{json .Args}}'), 'created 0 /web busybox sleep ["60"]');
  assert.equal(ok(['ps', '-q']), '');
  assert.equal(ok(['ps', '-aq', '--filter', 'status=created']), id.slice(0, 12));
  ok(['start', 'web']);
  assert.equal(inspect('web', '{{.State.Status}} {{.State.Running}}'), 'running true');
  assert.ok(Number(inspect('web', '{{.State.Pid}}')) > 0);
  const ps = ok(['ps', '--format', '{{.ID}} {{.Image}} {{.Command}} {{.Status}} {{.Names}} {{.Labels}}']);
  assert.match(ps, new RegExp(`^${id.slice(0, 12)} busybox "sleep 60" Up .* web app=web$`));
  assert.equal(inspect('web', '{{.Config.Hostname}}'), id.slice(0, 12));
  const conflict = await call(b.sock, 'POST', '/v1.45/containers/create?name=web', JSON.stringify({ Image: 'busybox' }), { 'Content-Type': 'application/json' });
  assert.equal(conflict.status, 409);
  assert.equal(JSON.parse(conflict.body).message, `Conflict. The container name "/web" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
  assert.match(fails(['rm', 'web']), /You cannot remove a running container/);
  const started = Date.now();
  ok(['stop', '-t', '1', 'web']);
  assert.ok(Date.now() - started < 8000);
  assert.equal(inspect('web', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  ok(['rename', 'web', 'web2']);
  assert.equal(inspect(id, '{{.Name}}'), '/web2');
  ok(['rm', 'web2']);
  assert.match(fails(['inspect', id]), /No such (container|object)/i);
  assert.match(fails(['create', 'nosuchimage:1']), /No such image: nosuchimage:1|nosuchimage/);
});

test('exit codes through wait; --rm removes the container', { skip }, async () => {
  const r = runToEnd(['busybox', 'sh', '-c', 'echo hi; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.out, 'hi\n');
  assert.equal(inspect(r.id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 3');
  const gone = ok(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 0.5; exit 0']);
  ok(['wait', gone]);
  await until('--rm container removal', () => docker(b.sock, ['inspect', gone]).status !== 0);
  ok(['rm', r.id]);
});

test('run --rm attached: output and exit code (when the attach routes are there)', { skip }, async (t) => {
  const r = docker(b.sock, ['run', '--rm', 'busybox', 'sh', '-c', 'echo hi; exit 4']);
  if (/unable to upgrade to tcp, received 404/.test(r.stderr)) { t.skip('no attach route in this berthd'); return; }
  assert.equal(r.stdout, 'hi\n', r.stderr);
  assert.equal(r.status, 4);
  await until('--rm container removal', () => ok(['ps', '-aq']) === '');
});

test('events: create, start, kill with its signal, die with its exit code, stop, destroy', { skip }, async () => {
  const since = Math.floor(Date.now() / 1000);
  const id = ok(['run', '-d', '--name', 'ev', 'busybox', 'sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']);
  ok(['stop', '-t', '5', 'ev']);
  ok(['rm', 'ev']);
  const lines = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${id}`,
    '--format', '{{.Action}} {{index .Actor.Attributes "signal"}}{{index .Actor.Attributes "exitCode"}}']).split('\n');
  assert.deepEqual(lines.map((l) => l.trim()), ['create', 'start', 'kill 15', 'die 3', 'stop', 'destroy']);
});

test('pause, unpause, update of a running container\'s memory, restart, kill with a signal', { skip }, async () => {
  const id = ok(['run', '-d', '--name', 'pu', 'busybox', 'sh', '-c', 'trap "echo usr1" USR1; while true; do sleep 0.1; done']);
  ok(['pause', 'pu']);
  assert.equal(inspect('pu', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
  assert.match(ok(['ps', '--filter', 'name=pu', '--format', '{{.Status}}']), /^Up .* \(Paused\)$/);
  assert.match(fails(['start', 'pu']), /cannot start a paused container, try unpause instead/);
  ok(['unpause', 'pu']);
  assert.equal(inspect('pu', '{{.State.Status}}'), 'running');
  ok(['update', '--memory', '48m', '--memory-swap', '96m', '--restart', 'unless-stopped', 'pu']);
  assert.equal(inspect('pu', '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}'), `${48 * 1024 * 1024} unless-stopped`);
  assert.equal(readFileSync(join('/sys/fs/cgroup/memory', `berth-berthd-${id}`, 'memory.limit_in_bytes'), 'utf8').trim(), String(48 * 1024 * 1024));
  ok(['kill', '-s', 'USR1', 'pu']);
  await until('the trap to run', () => output('pu').includes('usr1'));
  assert.equal(inspect('pu', '{{.State.Status}}'), 'running');
  const pid = inspect('pu', '{{.State.Pid}}');
  ok(['restart', '-t', '1', 'pu']);
  assert.equal(inspect('pu', '{{.State.Status}}'), 'running');
  assert.notEqual(inspect('pu', '{{.State.Pid}}'), pid);
  ok(['rm', '-f', 'pu']);
});

test('on-failure:2 restarts twice, then leaves it exited', { skip }, async () => {
  const id = ok(['run', '-d', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 5']);
  await until('two restarts', () => inspect(id, '{{.RestartCount}} {{.State.Status}}') === '2 exited');
  assert.equal(inspect(id, '{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'), '5 on-failure:2');
  ok(['rm', id]);
});

test('inside: default caps, cap-drop ALL, privileged, read-only, user, memory, masked and read-only /proc', { skip }, async () => {
  assert.match(runToEnd(['busybox', 'grep', 'CapEff', '/proc/self/status']).out, /CapEff:\s+00000000a80425fb/);
  assert.match(runToEnd(['--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/self/status']).out, /CapEff:\s+0000000000000000/);
  const priv = runToEnd(['--privileged', 'busybox', 'sh', '-c', 'grep -E "CapEff|Seccomp:" /proc/self/status; ls /dev | wc -l']).out;
  assert.doesNotMatch(priv, /CapEff:\s+00000000a80425fb/);
  assert.match(priv, /Seccomp:\s+0/);
  assert.ok(Number(priv.trim().split('\n').at(-1)) > 20, priv);
  assert.match(runToEnd(['busybox', 'grep', 'Seccomp:', '/proc/self/status']).out, /Seccomp:\s+2/);
  const ro = runToEnd(['--read-only', 'busybox', 'touch', '/x']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.out, /Read-only file system/);
  // the primary group is a supplementary one too, as dockerd gives it
  assert.equal(runToEnd(['--user', 'user', 'busybox', 'id']).out, 'uid=1000(user) gid=1000(user) groups=1000(user),2000(extra)\n');
  assert.equal(runToEnd(['--user', '1000:2000', 'busybox', 'id']).out, 'uid=1000(user) gid=2000(extra) groups=2000(extra)\n');
  assert.equal(runToEnd(['--memory', '64m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']).out, `${64 * 1024 * 1024}\n`);
  const masked = runToEnd(['busybox', 'sh', '-c', 'wc -c < /proc/timer_list; echo x > /proc/sys/kernel/domainname']).out;
  assert.match(masked, /^0\n/); // masked: /dev/null over it
  assert.match(masked, /Read-only file system/);
  assert.equal(runToEnd(['-w', '/a/b', '--user', 'user', 'busybox', 'sh', '-c', 'pwd; stat -c %U /a/b']).out, '/a/b\nuser\n');
  ok(['container', 'prune', '-f']);
  assert.equal(ok(['ps', '-aq']), '');
});

test('--restart always: kept running across a berthd kill -9, restarted after a simulated reboot', { skip }, async () => {
  const id = ok(['run', '-d', '--restart', 'always', '--name', 'keep', 'busybox', 'sleep', '600']);
  const stopped = ok(['run', '-d', '--name', 'ends', 'busybox', 'sh', '-c', 'sleep 2; exit 7']);
  const pid = Number(inspect(id, '{{.State.Pid}}'));
  b.proc.kill('SIGKILL');
  await b.exited;
  await new Promise((r) => setTimeout(r, 2500)); // 'ends' exits while berthd is away
  b = await ready(spawnBerthd(l));
  assert.equal(inspect(id, '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`);
  await until('the exit seen while away', () => inspect(stopped, '{{.State.Status}} {{.State.ExitCode}}') === 'exited 7');
  // a reboot: every process gone, the exec root's mounts and files with them
  const all = [...leftovers(l), pid];
  for (const p of all) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  await until('every process to die', () => leftovers(l).length === 0, 10_000);
  unmountUnder(l.execRoot);
  rmSync(l.execRoot, { recursive: true, force: true });
  b = await ready(spawnBerthd(l));
  await until('the always container back', () => inspect(id, '{{.State.Status}}') === 'running');
  assert.notEqual(Number(inspect(id, '{{.State.Pid}}')), pid);
  assert.equal(inspect(stopped, '{{.State.Status}}'), 'exited');
  ok(['rm', '-f', id, stopped]);
});

test('parallel creates: generated names never collide; one explicit name goes to one create, the others get 409', { skip }, async () => {
  const body = JSON.stringify({ Image: 'busybox', Cmd: ['true'] });
  const json = { 'Content-Type': 'application/json' };
  const unnamed = await Promise.all(Array.from({ length: 24 }, () => call(b.sock, 'POST', '/v1.45/containers/create', body, json)));
  assert.deepEqual(unnamed.map((r) => r.status), unnamed.map(() => 201), unnamed.map((r) => r.body).join('\n'));
  const ids = unnamed.map((r) => (JSON.parse(r.body) as { Id: string }).Id);
  ids.forEach((id) => made.add(id));
  const names = ids.map((id) => inspect(id, '{{.Name}}'));
  assert.equal(new Set(names).size, names.length, `duplicate generated names: ${names.join(' ')}`);
  const same = await Promise.all(Array.from({ length: 6 }, () => call(b.sock, 'POST', '/v1.45/containers/create?name=one-name', body, json)));
  const statuses = same.map((r) => r.status).sort();
  assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409], same.map((r) => r.body).join('\n'));
  for (const r of same.filter((x) => x.status === 409)) assert.match((JSON.parse(r.body) as { message: string }).message, /Conflict\. The container name "\/one-name" is already in use/);
  made.add((JSON.parse(same.find((r) => r.status === 201)!.body) as { Id: string }).Id);
  ok(['rm', ...ids, 'one-name']);
});
