/**
 * berth-runtime under Debian's dockerd, driven by the docker CLI: every
 * container here runs with `--runtime berth` (bin/berth-runtime registered
 * with --add-runtime). The same suite validates itself against runc with
 * BERTH_E2E_RUNTIME=runc, so a failure with berth only is the runtime's.
 *
 * One private dockerd (own socket, roots, containerd, bridge, cgroup parent)
 * serves the whole file; `after` stops it and checks nothing is left.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { DOCKER_CLI, Engines, IMAGE, RUNC, runtimeUnderTest, type Result } from '../helpers/engines.js';
import { runOnTerminal } from './terminal.js';
import { freePort, getWithRetry } from './http.js';

const runtime = runtimeUnderTest();
let engines: Engines;
const T = { timeout: 90_000 };

before(async () => {
  assert.ok(existsSync(runtime.binary), `${runtime.binary} is missing: run npm run build first`);
  engines = await Engines.start({ dockerd: true, runtimes: { berth: runtime.binary, runcref: RUNC } });
  engines.buildImage();
});

after(async () => {
  if (!engines) return;
  await engines.stop();
  assert.deepEqual(engines.leftovers(), [], 'the private engines left something behind');
});

/** `docker run --runtime <under test> …`, the image inserted after the flags. */
function run(flags: string[], cmd: string[], timeoutMs = 60_000): Result {
  return engines.docker(['run', '--runtime', runtime.name, ...flags, IMAGE, ...cmd], { timeoutMs });
}

/** What to print when an assertion fails: the CLI's output and the runtime's own log. */
function explain(r: Result, container?: string): string {
  const log = container ? engines.runtimeLog(container) : '';
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${log ? `\nruntime log: ${log}` : ''}`;
}

function inspect(container: string, format: string): string {
  return engines.dockerOk(['inspect', '--format', format, container]).trim();
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('run --rm prints the output and returns the exit code', T, () => {
  const r = run(['--rm'], ['sh', '-c', 'echo hi; echo to-stderr >&2; exit 3']);
  assert.equal(r.code, 3, explain(r));
  assert.equal(r.stdout, 'hi\n', explain(r));
  assert.match(r.stderr, /to-stderr/, explain(r));
});

describe('a detached container', () => {
  const name = 'e2e-detached';
  after(() => { engines?.docker(['rm', '-f', name]); });

  test('run -d starts it running', T, () => {
    const r = run(['-d', '--name', name], ['sh', '-c', 'echo started; trap "exit 7" TERM; while true; do sleep 0.2; done']);
    assert.equal(r.code, 0, explain(r, name));
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/, explain(r, name));
    assert.equal(inspect(name, '{{.State.Running}}'), 'true', explain(r, name));
  });

  test('exec runs a process inside it and returns its exit code', T, () => {
    const r = engines.docker(['exec', name, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
    assert.equal(r.code, 4, explain(r, name));
    assert.match(r.stdout, /^in-exec\nsh -c echo started/, explain(r, name));
  });

  test('logs shows what it printed', T, () => {
    const r = engines.docker(['logs', name]);
    assert.equal(r.code, 0, explain(r, name));
    assert.equal(r.stdout, 'started\n', explain(r, name));
  });

  test('top lists its processes', T, () => {
    const r = engines.docker(['top', name]);
    assert.equal(r.code, 0, explain(r, name));
    assert.match(r.stdout, /PID/, explain(r, name));
    assert.match(r.stdout, /sh -c echo started/, explain(r, name));
  });

  test('stats --no-stream reports its memory', T, () => {
    const r = engines.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', name]);
    assert.equal(r.code, 0, explain(r, name));
    assert.match(r.stdout.trim(), new RegExp(`^${name} [0-9.]+[KMG]?i?B / [0-9.]+[KMGT]?i?B$`), explain(r, name));
    assert.doesNotMatch(r.stdout, / 0B \//, explain(r, name));
  });

  test('pause freezes it and unpause thaws it', T, () => {
    const p = engines.docker(['pause', name]);
    assert.equal(p.code, 0, explain(p, name));
    assert.equal(inspect(name, '{{.State.Paused}} {{.State.Status}}'), 'true paused');
    const blocked = engines.docker(['exec', name, 'true']);
    assert.notEqual(blocked.code, 0, 'exec into a paused container must fail');
    const u = engines.docker(['unpause', name]);
    assert.equal(u.code, 0, explain(u, name));
    assert.equal(inspect(name, '{{.State.Paused}} {{.State.Status}}'), 'false running');
    const e = engines.docker(['exec', name, 'echo', 'thawed']);
    assert.equal(e.stdout, 'thawed\n', explain(e, name));
  });

  test('stop delivers SIGTERM and the trap sets the exit code', T, () => {
    const r = engines.docker(['stop', '-t', '10', name]);
    assert.equal(r.code, 0, explain(r, name));
    assert.equal(inspect(name, '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}'), 'exited 7 false');
  });

  test('rm removes it', T, () => {
    const r = engines.docker(['rm', name]);
    assert.equal(r.code, 0, explain(r, name));
    const gone = engines.docker(['inspect', name]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such object/);
  });
});

test('run -it gives the shell a terminal driven through a pty', T, async () => {
  const s = await runOnTerminal([DOCKER_CLI, 'run', '-it', '--rm', '--runtime', runtime.name, IMAGE, 'sh'], {
    env: engines.dockerEnv(), prompt: /\/ # /, input: 'tty; echo $((6*7)); exit 5\r', timeoutMs: 60_000,
  });
  assert.equal(s.code, 5, s.output);
  assert.match(s.output, /^\/dev\/pts\/0\r?$/m, s.output);
  assert.match(s.output, /^42\r?$/m, s.output);
});

test('--memory: a hog is OOM-killed with 137 and OOMKilled true', T, () => {
  const name = 'e2e-oom';
  try {
    // dd's 256 MiB buffer is filled by read() from /dev/zero, far past the limit.
    const r = run(['--name', name, '--memory', '32m', '--memory-swap', '32m'], ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=256M', 'count=1']);
    assert.equal(r.code, 137, explain(r, name));
    assert.equal(inspect(name, '{{.State.ExitCode}} {{.State.OOMKilled}}'), '137 true', explain(r, name));
    assert.equal(inspect(name, '{{.HostConfig.Memory}}'), String(32 << 20));
  } finally {
    engines.docker(['rm', '-f', name]);
  }
});

test('--pids-limit: a fork loop stops at the limit', T, async () => {
  const name = 'e2e-pids';
  try {
    // The loop runs in a subshell so its failed fork ends the subshell, not the container.
    const r = run(['-d', '--name', name, '--pids-limit', '10'], ['sh', '-c', '(for i in $(seq 1 30); do sleep 60 & done); echo loop-ended; exec sleep 60']);
    assert.equal(r.code, 0, explain(r, name));
    await until('the fork loop to end', 20_000, () => engines.docker(['logs', name]).stdout.includes('loop-ended'));
    const logs = engines.docker(['logs', name]);
    assert.match(logs.stderr, /can't fork/, explain(logs, name));
    assert.equal(engines.cgroupFile('pids', name, 'pids.max'), '10');
    const top = engines.docker(['top', name]);
    const procs = top.stdout.trim().split('\n').length - 1;
    assert.ok(procs >= 2 && procs <= 10, `expected 2..10 processes under --pids-limit 10: ${explain(top, name)}`);
  } finally {
    engines.docker(['rm', '-f', name]);
  }
});

test('--read-only: the root filesystem cannot be written', T, () => {
  const r = run(['--rm', '--read-only'], ['touch', '/x']);
  assert.equal(r.code, 1, explain(r));
  assert.match(r.stderr, /Read-only file system/, explain(r));
  const writable = run(['--rm'], ['touch', '/x']);
  assert.equal(writable.code, 0, `without --read-only the root must be writable: ${explain(writable)}`);
});

test('--cap-drop ALL: chown is refused', T, () => {
  const r = run(['--rm', '--cap-drop', 'ALL'], ['chown', '1', '/tmp']);
  assert.equal(r.code, 1, explain(r));
  assert.match(r.stderr, /Operation not permitted/, explain(r));
  const withCaps = run(['--rm'], ['chown', '1', '/tmp']);
  assert.equal(withCaps.code, 0, `with the default capabilities chown must work: ${explain(withCaps)}`);
});

test('--user 1000:1000 runs the process as that user', T, () => {
  const r = run(['--rm', '--user', '1000:1000'], ['id']);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /^uid=1000\(user\) gid=1000\(user\)/, explain(r));
});

test('--network none leaves only the loopback interface', T, () => {
  const r = run(['--rm', '--network', 'none'], ['ls', '/sys/class/net']);
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout, 'lo\n', explain(r));
});

test('-p publishes a web server that answers from the host', T, async () => {
  const name = 'e2e-web';
  const port = await freePort();
  try {
    const r = run(['-d', '--name', name, '-p', `127.0.0.1:${port}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.equal(r.code, 0, explain(r, name));
    const res = await getWithRetry(`http://127.0.0.1:${port}/`, 20_000);
    assert.equal(res.status, 200, `${res.body}\n${engines.runtimeLog(name)}`);
    assert.equal(res.body, '<h1>berth e2e page</h1>\n');
  } finally {
    engines.docker(['rm', '-f', name]);
  }
});
