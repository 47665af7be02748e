/**
 * A --console-socket for tests: a python3 receiver (Node cannot receive
 * SCM_RIGHTS) takes the pty master, types `typed` into it, and collects the
 * output until the pty closes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConsoleResult { name: string; fds: number; out: string }

const RECEIVER = `
import json, os, select, socket, sys
path, typed = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
c.close()
m = fds[0]
os.write(m, typed.encode())
out = b''
while True:
    r, _, _ = select.select([m], [], [], 10)
    if not r:
        break
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
print(json.dumps({'name': msg.decode(errors='replace'), 'fds': len(fds), 'out': out.decode(errors='replace')}), flush=True)
`;

/** A console socket: receives the pty master, types `typed`, collects the output until the pty closes. */
export async function consoleReceiver(dir: string, typed: string): Promise<{ path: string; result: Promise<{ name: string; fds: number; out: string }> }> {
  const path = join(dir, 'console.sock');
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const child = spawn('python3', [script, path, typed], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const listening = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('listening')) resolve(); }));
  const done = new Promise<{ name: string; fds: number; out: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', () => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try { resolve(JSON.parse(last) as { name: string; fds: number; out: string }); } catch { reject(new Error(`console receiver: ${out} ${err}`)); }
    });
  });
  await listening;
  return { path, result: done };
}

