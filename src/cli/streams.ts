/**
 * The terminal side of attach and exec: a hijacked connection's output to
 * stdout/stderr (demultiplexed unless the container has a TTY), our stdin to
 * the connection (raw mode on a TTY), the terminal size to the daemon.
 */
import { spawnSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { StdcopyDecoder } from '../common/stdcopy.js';

export interface StreamOptions {
  tty: boolean;
  stdin: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** Copies the connection to our stdout/stderr until it ends; sends stdin when asked. */
export function pump(conn: Duplex, opts: StreamOptions): Promise<void> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const decoder = new StdcopyDecoder((stream, payload) => {
    (stream === 2 || stream === 3 ? stderr : stdout).write(payload);
  });
  let restore = (): void => {};
  if (opts.stdin) {
    if (opts.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      // libuv's raw mode keeps output post-processing (ONLCR): the container's pty already
      // sends \r\n, so turn it off as docker's raw mode does (restored with the mode)
      spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
      restore = (): void => { process.stdin.setRawMode(false); };
    }
    process.stdin.on('data', (d: Buffer) => { conn.write(d); });
    // stdin's end closes our half only: output keeps coming until the container is done
    process.stdin.on('end', () => { (conn as Duplex & { end(): void }).end(); });
    process.stdin.resume();
  }
  return new Promise((resolve, reject) => {
    conn.on('data', (d: Buffer) => { if (opts.tty) stdout.write(d); else decoder.push(d); });
    const done = (): void => {
      restore();
      if (opts.stdin) process.stdin.pause();
      resolve();
    };
    conn.on('end', done);
    conn.on('close', done);
    conn.on('error', (e) => { restore(); reject(e); });
  });
}

/** The terminal's size for the resize endpoints, when stdout is a TTY. */
export function terminalSize(): { h: number; w: number } | undefined {
  return process.stdout.isTTY ? { h: process.stdout.rows, w: process.stdout.columns } : undefined;
}
