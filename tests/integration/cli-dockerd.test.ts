/**
 * berth against a private Debian dockerd, side by side with the docker CLI:
 * the same commands, the same outputs and exit codes (ps, images, inspect
 * --format, run --rm, exit codes 0/3/125/126/127, logs, exec, events with
 * --since/--until, version --format), and `run -it` through a real pty.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engines, IMAGE, type Result } from '../helpers/engines.js';
import { REPO } from '../helpers/runtime.js';

const BERTH = join(REPO, 'bin', 'berth');
let e: Engines;

function berth(args: string[], input = ''): Result {
  // BERTH_HOST must win over the DOCKER_HOST of the docker environment: point DOCKER_HOST elsewhere
  const env = { ...e.dockerEnv(), BERTH_HOST: `unix://${e.dockerSock}`, DOCKER_HOST: 'unix:///nonexistent.sock' };
  const r = spawnSync(BERTH, args, { env, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs both CLIs; asserts equal stdout and exit code; returns berth's result. */
function same(args: string[], message = args.join(' ')): Result {
  const d = e.docker(args);
  const b = berth(args);
  assert.equal(b.stdout, d.stdout, `${message}: stdout differs (berth stderr: ${b.stderr})`);
  assert.equal(b.code, d.code, `${message}: exit code differs (docker ${d.stderr} / berth ${b.stderr})`);
  return b;
}

before(async () => {
  assert.ok(existsSync(BERTH), `${BERTH} is missing: run the build first`);
  e = await Engines.start({ runtimes: {}, dockerd: true });
  e.buildImage();
  e.dockerOk(['run', '-d', '--name', 'web', '-l', 'tier=front', '-p', '127.0.0.1::80', IMAGE, 'httpd', '-f', '-p', '80']);
  const ex3 = e.docker(['run', '--name', 'ex3', '-e', 'A=1', IMAGE, 'sh', '-c', 'echo one; echo two >&2; echo three; exit 3'], { timeoutMs: 60_000 });
  assert.equal(ex3.code, 3, ex3.stderr);
});

after(async () => {
  if (!e) return;
  await e.stop();
  assert.deepEqual(e.leftovers(), []);
});

test('ps, images and inspect --format print what docker prints', () => {
  same(['ps', '-a', '--format', 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.State}}\t{{.Ports}}\t{{.Names}}\t{{.Labels}}']);
  same(['ps', '-q']);
  same(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}} {{.Names}}']);
  same(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Label "tier"}}']);
  same(['ps', '-n', '1', '--format', '{{.Names}}']);
  same(['ps', '--format', '{{.Foo}}']);
  same(['images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}']);
  same(['images', '-q']);
  same(['images', '--digests', '--format', '{{.Repository}} {{.Digest}} {{.ID}}']);
  same(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{json .Config.Labels}} {{.HostConfig.PortBindings}} {{.Config.Cmd}}', 'web']);
  same(['inspect', '--format', '{{range .Config.Env}}[{{.}}]{{end}} {{if .State.Running}}up{{else}}down{{end}} {{index .Config.Labels "tier"}} {{.Name | printf "%q"}}', 'web', 'ex3']);
  same(['inspect', '--type', 'image', '--format', '{{.Id}} {{.Size}} {{.Config.Cmd}}', IMAGE]);
  same(['inspect', '-s', '--format', '{{.SizeRootFs}}', 'ex3']);
  same(['inspect', '--format', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'web']);
  same(['inspect', 'nope']);
  same(['inspect', '--format', '{{.ID', 'web']);
  const full = berth(['inspect', 'web']);
  assert.deepEqual(JSON.parse(full.stdout), JSON.parse(e.dockerOk(['inspect', 'web'])));
  same(['version', '--format', '{{.Server.APIVersion}}']);
});

test('run --rm, exit codes and streams', () => {
  const ok = same(['run', '--rm', IMAGE, 'echo', 'hello', 'world']);
  assert.equal(ok.stdout, 'hello world\n');
  same(['run', '--rm', '-e', 'X=y', '-w', '/tmp', '-u', '1000', IMAGE, 'sh', '-c', 'echo $X $(pwd) $(id -u); exit 3']);
  const missing = same(['run', '--rm', IMAGE, 'nonexistent']);
  assert.equal(missing.code, 127);
  assert.equal(same(['run', '--rm', IMAGE, '/etc/passwd']).code, 126);
  assert.equal(same(['run', '--rm', '--pull', 'never', 'no-such-image:1']).code, 125);
  assert.equal(same(['run', '--bogus-flag', IMAGE]).code, 125);
  const stdin = berth(['run', '--rm', '-i', IMAGE, 'sh', '-c', 'tr a-z A-Z'], 'piped input\n');
  assert.equal(stdin.stdout, 'PIPED INPUT\n');
  assert.equal(stdin.code, 0);
  const err = berth(['run', '--rm', IMAGE, 'sh', '-c', 'echo to-err >&2']);
  assert.equal(err.stdout, '');
  assert.match(err.stderr, /to-err/);
  const detached = berth(['run', '-d', '--name', 'bd', '--rm', IMAGE, 'sleep', '30']);
  assert.equal(detached.code, 0, detached.stderr);
  assert.match(detached.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(berth(['stop', '-t', '1', 'bd']).stdout, 'bd\n');
});

test('logs, exec, top and the lifecycle verbs', () => {
  same(['logs', 'ex3']);
  same(['logs', '--tail', '1', 'ex3']);
  same(['logs', '-t', 'ex3']);
  same(['exec', 'web', 'sh', '-c', 'echo in-web; exit 4']);
  same(['exec', '-e', 'Q=1', '-w', '/www', 'web', 'sh', '-c', 'echo $Q $(pwd); cat index.html']);
  same(['exec', 'web', 'nonexistent']);
  same(['stop', 'nope']);
  assert.match(berth(['top', 'web']).stdout, /^UID\s+PID\s+PPID.*\n.*httpd -f -p 80/);
  assert.equal(berth(['create', '--name', 'lc', IMAGE, 'sleep', '30']).code, 0);
  assert.equal(berth(['start', 'lc']).stdout, 'lc\n');
  assert.equal(berth(['pause', 'lc']).stdout, 'lc\n');
  assert.equal(e.dockerOk(['inspect', '--format', '{{.State.Status}}', 'lc']), 'paused\n');
  assert.equal(berth(['unpause', 'lc']).stdout, 'lc\n');
  assert.equal(berth(['rename', 'lc', 'lc2']).code, 0);
  assert.equal(berth(['kill', '-s', 'KILL', 'lc2']).stdout, 'lc2\n');
  assert.equal(berth(['wait', 'lc2']).stdout, '137\n');
  assert.equal(berth(['rm', 'lc2']).stdout, 'lc2\n');
  assert.equal(berth(['tag', IMAGE, 'berth-cli:extra']).code, 0);
  same(['images', '--format', '{{.Repository}}:{{.Tag}}', 'berth-cli']);
  assert.equal(berth(['rmi', 'berth-cli:extra']).stdout, 'Untagged: berth-cli:extra\n');
});

test('events --since/--until with a filter and a format', () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  e.dockerOk(['run', '--rm', '--name', 'evt', IMAGE, 'true']);
  const until = Math.floor(Date.now() / 1000) + 1;
  const args = ['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'];
  const r = same(args);
  assert.match(r.stdout, /container start evt/);
  const plain = same(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--filter', 'event=die']);
  assert.match(plain.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container die [0-9a-f]{64} \(.*exitCode=0.*name=evt.*\)\n$/);
});

test('run -it through a pty: type a command, read its answer, exit with a code', () => {
  const script = join(e.dir, 'drive-tty.py');
  writeFileSync(script, [
    'import os, pty, sys, time, select',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    `    os.execv(sys.argv[1], sys.argv[1:])`,
    'out = b""',
    'def read_until(token, timeout):',
    '    global out',
    '    end = time.time() + timeout',
    '    while token not in out and time.time() < end:',
    '        r, _, _ = select.select([fd], [], [], 0.2)',
    '        if r:',
    '            try: out += os.read(fd, 4096)',
    '            except OSError: return',
    'read_until(b"#", 20)',
    'os.write(fd, b"echo $((6*7))-answer; exit 5\\r")',
    'read_until(b"42-answer\\r\\n", 20)',
    'read_until(b"\\x00never", 3)',
    '_, status = os.waitpid(pid, 0)',
    'sys.stdout.write(out.decode(errors="replace"))',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n'));
  const env = { ...e.dockerEnv(), BERTH_HOST: `unix://${e.dockerSock}` };
  const r = spawnSync('python3', [script, BERTH, 'run', '--rm', '-it', IMAGE, 'sh'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.match(r.stdout, /42-answer/, r.stderr);
  assert.equal(r.status, 5, `${r.stdout}\n${r.stderr}`);
});
