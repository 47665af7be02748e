/**
 * berthd's container streams and files driven by the real docker CLI:
 * run (foreground, --rm, -it through a pty, exit codes), logs (-f, --tail,
 * --since, -t), exec (-it, exit code, -u/-w/-e), cp both ways (mode kept,
 * a symlink escape refused), stats --no-stream, top, export, diff, and a
 * health check that flips from unhealthy to healthy (inspect and events).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DOCKER, docker, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, corePids, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;
let l: Layout;
let b: Berthd;
const d = (args: string[]): ReturnType<typeof docker> => docker(l.sock, args);

function ok(args: string[]): string {
  const r = d(args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A busybox root filesystem (the host's static busybox and its applets) imported as busybox:latest. */
function importBusybox(dir: string): void {
  const root = join(dir, 'rootfs');
  for (const sub of ['bin', 'tmp', 'etc', 'root']) mkdirSync(join(root, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (a !== '' && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  }
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(dir, 'busybox.tar');
  assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
  ok(['import', '-c', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tar, 'busybox:latest']);
}

before(async () => {
  if (skip) return;
  // a short exec-root: the shim's console socket (<exec-root>/core/berthd/<64-hex id>/shim/console.sock) must fit in sun_path (108)
  l = { ...layout(mkdtempSync(join(tmpdir(), 'berthd-streams-'))), execRoot: mkdtempSync('/run/b') };
  b = await ready(spawnBerthd(l));
  importBusybox(l.dir);
});

after(async () => {
  if (skip) return;
  const ids = d(['ps', '-aq']).stdout.split('\n').filter((x) => x !== '');
  if (ids.length > 0) d(['rm', '-f', ...ids]);
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await new Promise((r) => setTimeout(r, 300));
  spawnSync('sh', ['-c', `grep -o ' ${l.dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  assert.deepEqual(leftovers(l), [], 'processes left behind');
  rmSync(l.dir, { recursive: true, force: true });
  rmSync(l.execRoot, { recursive: true, force: true });
});

test('run --rm busybox echo hi prints hi; exit codes reach the CLI; --rm removes', { skip }, () => {
  assert.equal(ok(['run', '--rm', '--name', 'hi-once', 'busybox', 'echo', 'hi']), 'hi\n');
  const r = d(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.status, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(d(['inspect', 'hi-once']).status, 1, 'auto-removed');
  assert.equal(ok(['run', '--rm', '-i', 'busybox', 'cat']).length, 0);
  const piped = spawnSync(DOCKER, ['-H', `unix://${l.sock}`, 'run', '--rm', '-i', 'busybox', 'tr', 'a-z', 'A-Z'], { input: 'shout\n', encoding: 'utf8', timeout: 30_000 });
  assert.equal(piped.stdout, 'SHOUT\n', piped.stderr);
});

function ptyDrive(args: string[], typed: string, expect: string): { out: string; status: number | null } {
  const script = join(l.dir, 'drive-tty.py');
  writeFileSync(script, [
    'import os, pty, sys, time, select',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    os.execv(sys.argv[1], sys.argv[1:])',
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
    `os.write(fd, ${JSON.stringify(typed)}.encode())`,
    `read_until(${JSON.stringify(expect)}.encode(), 20)`,
    'read_until(b"\\x00never", 3)',
    '_, status = os.waitpid(pid, 0)',
    'sys.stdout.write(out.decode(errors="replace"))',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n'));
  const r = spawnSync('python3', [script, DOCKER, '-H', `unix://${l.sock}`, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout + r.stderr, status: r.status };
}

test('run --rm -it busybox sh through a pty: a typed command answers, exit 5 reaches the CLI', { skip }, () => {
  const r = ptyDrive(['run', '--rm', '-it', 'busybox', 'sh'], 'echo $((6*7))-answer; exit 5\r', '42-answer\r\n');
  assert.match(r.out, /42-answer/);
  assert.equal(r.status, 5, r.out);
});

test('logs: -f streams new lines, --tail 2, --since, -t', { skip }, async () => {
  ok(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); sleep 0.1; done']);
  await new Promise((r) => setTimeout(r, 1500));
  const tail = ok(['logs', '--tail', '2', 'talker']).split('\n').filter((x) => x !== '');
  assert.equal(tail.length, 2);
  const [, a] = /line (\d+)/.exec(tail[0]!)!;
  assert.match(tail[1]!, new RegExp(`line ${Number(a) + 1}$`));
  const stamped = ok(['logs', '-t', '--tail', '1', 'talker']);
  assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line \d+\n$/);
  assert.equal(ok(['logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), 'talker']), '');
  assert.match(ok(['logs', '--since', '1h', 'talker']), /^line 0\n/);
  // follow: lines written after the call started arrive
  const f = spawn(DOCKER, ['-H', `unix://${l.sock}`, 'logs', '-f', '--tail', '0', 'talker']);
  let seen = '';
  f.stdout.on('data', (c: Buffer) => { seen += c.toString(); });
  await new Promise((r) => setTimeout(r, 1200));
  f.kill();
  const lines = seen.split('\n').filter((x) => x !== '');
  assert.ok(lines.length >= 5, `followed lines: ${seen}`);
  assert.ok(lines.every((x) => /^line \d+$/.test(x)));
  ok(['rm', '-f', 'talker']);
});

test('exec: exit code, -u -w -e', { skip }, () => {
  ok(['run', '-d', '--name', 'box', 'busybox', 'sleep', '300']);
  const r = d(['exec', 'box', 'sh', '-c', 'echo x; exit 7']);
  assert.equal(r.status, 7);
  assert.equal(r.stdout, 'x\n');
  assert.equal(ok(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'FOO=bar', 'box', 'sh', '-c', 'id -u; pwd; echo $FOO']), '65534\n/tmp\nbar\n');
});

// the shim names an exec's console socket <state>/<ns>/<id>/shim/exec-<exec id>.console: with Docker's
// 64-hex IDs that is longer than sun_path allows, so the shim refuses terminals for execs (reported)
test('exec -it through a pty: a typed command answers, exit 4 reaches the CLI', { skip }, () => {
  const t = ptyDrive(['exec', '-it', 'box', 'sh'], 'echo $((7*6))-exec; exit 4\r', '42-exec\r\n');
  assert.match(t.out, /42-exec/);
  assert.equal(t.status, 4, t.out);
});

test('cp both ways keeps the mode; a symlink leading out of the container is resolved inside it', { skip }, () => {
  const src = join(l.dir, 'f.txt');
  writeFileSync(src, 'hello\n');
  chmodSync(src, 0o741);
  ok(['cp', src, 'box:/tmp/']);
  assert.match(ok(['exec', 'box', 'ls', '-l', '/tmp/f.txt']), /^-rwxr----x /);
  ok(['exec', 'box', 'sh', '-c', 'echo inside > /tmp/made; chmod 600 /tmp/made']);
  const back = join(l.dir, 'made.out');
  ok(['cp', 'box:/tmp/made', back]);
  assert.equal(readFileSync(back, 'utf8'), 'inside\n');
  assert.equal(statSync(back).mode & 0o777, 0o600);
  // /esc points far above the container's root: it stays inside it
  const marker = `berth-escape-${process.pid}`;
  writeFileSync(join('/tmp', marker), 'host only\n');
  try {
    ok(['exec', 'box', 'ln', '-s', '../../../../../../../../tmp', '/esc']);
    const leak = d(['cp', `box:/esc/${marker}`, join(l.dir, 'leak')]);
    assert.notEqual(leak.status, 0);
    assert.match(leak.stderr, /Could not find the file/);
    assert.equal(existsSync(join(l.dir, 'leak')), false);
    const into = join(l.dir, `${marker}-in`);
    writeFileSync(into, 'x\n');
    ok(['cp', into, 'box:/esc/']);
    assert.equal(existsSync(join('/tmp', `${marker}-in`)), false, 'written on the host');
    ok(['exec', 'box', 'test', '-f', `/tmp/${marker}-in`]);
  } finally { rmSync(join('/tmp', marker), { force: true }); }
});

test('stats --no-stream has the columns and a memory usage; top lists the processes', { skip }, () => {
  const s = ok(['stats', '--no-stream', 'box']);
  assert.match(s.split('\n')[0]!, /CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS/);
  const row = s.split('\n')[1]!;
  const mem = /^[0-9a-f]{12}\s+box\s+[0-9.]+%\s+(\S+) \/ (\S+)\s/.exec(row);
  assert.ok(mem, row);
  assert.notEqual(mem[1], '0B', `memory usage: ${row}`);
  const top = ok(['top', 'box']);
  assert.match(top.split('\n')[0]!, /UID\s+PID\s+PPID/);
  assert.match(top, /sleep 300/);
});

test('export holds a written file; diff shows A, C and D', { skip }, () => {
  ok(['exec', 'box', 'sh', '-c', 'echo x > /tmp/added; rm /etc/group; echo y >> /etc/passwd']);
  const tar = spawnSync('sh', ['-c', `${DOCKER} -H unix://${l.sock} export box | tar -t`], { encoding: 'utf8' });
  assert.match(tar.stdout, /^\.?\/?tmp\/added$/m);
  // dockerd's init layer: /.dockerenv and /etc/mtab -> /proc/mounts, in export, not in diff
  assert.match(tar.stdout, /^\.?\/?\.dockerenv$/m);
  assert.match(tar.stdout, /^\.?\/?etc\/mtab$/m);
  assert.equal(ok(['exec', 'box', 'readlink', '/etc/mtab']).trim(), '/proc/mounts');
  const diff = ok(['diff', 'box']);
  assert.match(diff, /^A \/tmp\/added$/m);
  assert.match(diff, /^C \/etc\/passwd$/m);
  assert.match(diff, /^D \/etc\/group$/m);
  assert.doesNotMatch(diff, /^A \/proc$/m);
  assert.match(diff, /^C \/etc$/m, 'a directory with a change of its own in it is shown');
  // what the runtime made (/etc/hosts, /etc/hostname, /etc/resolv.conf) is not a change, nor is
  // the directory it made them in: a container that changed nothing has an empty diff, as in dockerd
  ok(['run', '-d', '--name', 'quiet', 'busybox', 'sleep', '300']);
  assert.equal(ok(['diff', 'quiet']), '');
  ok(['rm', '-f', 'quiet']);
});

test('a health check flips from unhealthy to healthy: inspect, ps and events', { skip }, async () => {
  const since = Math.floor(Date.now() / 1000);
  ok(['run', '-d', '--name', 'checked', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '300ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
  const status = (): string => ok(['inspect', '-f', '{{.State.Health.Status}}', 'checked']).trim();
  const until = async (want: string): Promise<void> => {
    for (let i = 0; i < 50 && status() !== want; i++) await new Promise((r) => setTimeout(r, 200));
    assert.equal(status(), want);
  };
  await until('unhealthy');
  assert.match(ok(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}} {{.Status}}']), /^checked Up .* \(unhealthy\)$/m);
  ok(['exec', 'checked', 'touch', '/tmp/ok']);
  await until('healthy');
  const log = JSON.parse(ok(['inspect', '-f', '{{json .State.Health.Log}}', 'checked'])) as { ExitCode: number }[];
  assert.ok(log.length <= 5 && log.at(-1)!.ExitCode === 0);
  const ev = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=checked', '--filter', 'event=health_status', '--format', '{{.Action}}']);
  assert.deepEqual(ev.trim().split('\n'), ['health_status: unhealthy', 'health_status: healthy']);
});
