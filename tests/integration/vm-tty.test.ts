/**
 * berth-vm's terminals: a container created with `terminal: true` and an
 * exec'd process with `-t` each send their pty master to a --console-socket
 * (the runc protocol); the size the caller sets on that master reaches the
 * process in the guest, at start and again when it changes (a resize crosses
 * keeper or relay, the channel and the agent). Skips with the reason when
 * qemu, the guest kernel, the build or python3 is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, removeBundle } from '../helpers/bundle.js';
import { REPO, isRoot } from '../helpers/runtime.js';
import { cachedKernel } from '../../src/vm/config.js';

const BIN = join(REPO, 'bin', 'berth-vm');
const kernel = process.env.BERTH_VM_KERNEL ?? cachedKernel('/var/cache/berth/vm')?.kernel;
const skip = !isRoot ? 'needs root'
  : !existsSync('/usr/bin/qemu-system-x86_64') ? 'needs qemu-system-x86'
  : !kernel ? 'needs the guest kernel (scripts/vm-kernel.sh)'
  : !existsSync(BIN) ? 'needs npm run build'
  : spawnSync('python3', ['-c', 'import socket; socket.recv_fds']).status !== 0 ? 'needs python3 (3.9+)'
  : false;

/**
 * Takes the pty master from the socket, then for each size: sets it on the
 * master, types a line, and waits for the process to print `size=R C`.
 * Prints what it read as JSON when the pty closes or after a quiet spell.
 */
const RECEIVER = `
import fcntl, json, os, re, select, socket, struct, sys, termios, time
path, sizes = sys.argv[1], [tuple(map(int, s.split('x'))) for s in sys.argv[2:]]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 4096, 1)
c.close()
m = fds[0]
out = b''
def read_until(n):
    global out
    while len(re.findall(rb'size=\\d+ \\d+', out)) < n:
        r, _, _ = select.select([m], [], [], 60)
        if not r: return
        try: d = os.read(m, 4096)
        except OSError: return
        if not d: return
        out += d
for i, (rows, cols) in enumerate(sizes):
    fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.write(m, b'go\\r')
    read_until(i + 1)
print(json.dumps({'out': out.decode(errors='replace')}), flush=True)
# the master stays open: closing it hangs the terminal up, which ends the container as it would under runc
time.sleep(600)
`;

const receivers: ChildProcess[] = [];

/** A console socket; `sizes` resolves with the sizes the process printed, the receiver then holds the pty until the test ends. */
function receiver(dir: string, name: string, sizes: string[]): Promise<{ path: string; sizes: Promise<string[]> }> {
  const path = join(dir, `${name}.sock`);
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const child = spawn('python3', [script, path, ...sizes], { stdio: ['ignore', 'pipe', 'pipe'] });
  receivers.push(child);
  let out = '', err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve) => {
    const result = new Promise<string[]>((res, rej) => {
      child.stdout.on('data', () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) res([...(JSON.parse(line) as { out: string }).out.matchAll(/size=(\d+ \d+)/g)].map((x) => x[1]!));
      });
      child.on('close', () => rej(new Error(`console receiver ${name} ended: ${out} ${err}`)));
    });
    child.stdout.on('data', () => { if (out.includes('listening')) resolve({ path, sizes: result }); });
  });
}

function vm(root: string, args: string[], log: string): Promise<{ code: number; stderr: string }> {
  const fd = openSync(log, 'a');
  return new Promise((resolve) => {
    const p = spawn(BIN, ['--root', root, ...args], { stdio: ['ignore', fd, fd] });
    p.on('exit', (code) => { closeSync(fd); resolve({ code: code ?? -1, stderr: readFileSync(log, 'utf8') }); });
  });
}

const TWO_SIZES = 'read x; echo size=$(stty size); read x; echo size=$(stty size)';

test('terminal: the console socket gets the pty; sizes set on it reach the init and an exec in the guest', { skip, timeout: 200_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-vm-tty-'));
  const b = makeBundle(['sh', '-c', `${TWO_SIZES}; sleep 300`], 'berth-vm-tty-bundle-');
  symlinkSync('busybox', join(b.rootfs, 'bin', 'stty'));
  b.config.process.terminal = true;
  b.write();
  const log = join(b.dir, 'log');
  try {
    const init = await receiver(b.dir, 'init', ['33x101', '41x77']);
    const c = await vm(root, ['create', '--bundle', b.dir, '--console-socket', init.path, 'vm-tty'], log);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await vm(root, ['start', 'vm-tty'], log)).code, 0);
    assert.deepEqual(await init.sizes, ['33 101', '41 77'], 'the init sees the size at start and after a resize');

    const ex = await receiver(b.dir, 'exec', ['25x90', '50x132']);
    const e = await vm(root, ['exec', '-t', '--console-socket', ex.path, 'vm-tty', 'sh', '-c', TWO_SIZES], log);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(await ex.sizes, ['25 90', '50 132'], 'the exec sees the size at start and after a resize');
  } finally {
    for (const id of existsSync(root) ? readdirSync(root) : []) await vm(root, ['delete', '--force', id], log);
    for (const r of receivers) r.kill('SIGKILL');
    removeBundle(b);
    rmSync(root, { recursive: true, force: true });
  }
});
