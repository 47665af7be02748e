/** Runs bin/berth-runtime (or another runc-compatible binary) for tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RUNTIME = join(REPO, 'bin', 'berth-runtime');

export interface Result { code: number; stdout: string; stderr: string }

export class Runtime {
  readonly root: string;
  constructor(readonly binary = RUNTIME, root?: string) {
    this.root = root ?? mkdtempSync(join(tmpdir(), 'berth-root-'));
  }

  /**
   * Runs the runtime synchronously with --root set. Output goes to files,
   * not pipes: a detached container inherits the runtime's stdio, and a pipe
   * it holds would keep the call open until the container exits.
   */
  run(args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
    const dir = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const out = openSync(join(dir, 'stdout'), 'w+');
    const err = openSync(join(dir, 'stderr'), 'w+');
    try {
      const r = spawnSync(this.binary, ['--root', this.root, ...args], {
        input: opts.input ?? '', stdio: ['pipe', out, err], timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd, env: opts.env ?? process.env,
      });
      return {
        code: r.status ?? (r.signal ? 128 : 1),
        stdout: readFileSync(join(dir, 'stdout'), 'utf8'),
        stderr: readFileSync(join(dir, 'stderr'), 'utf8'),
      };
    } finally {
      closeSync(out);
      closeSync(err);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Like run, but async, so a test can talk to the container meanwhile. */
  start(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(this.binary, ['--root', this.root, ...args], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
  }

  ok(args: string[], opts: { input?: string } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`berth-runtime ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  state(id: string): { status: string; pid: number } {
    return JSON.parse(this.ok(['state', id])) as { status: string; pid: number };
  }

  /** Force-deletes every container and removes the root. */
  cleanup(): void {
    if (existsSync(this.root)) {
      for (const id of readdirSync(this.root)) this.run(['delete', '--force', id]);
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Cgroup directories under every hierarchy whose name contains `needle`. */
export function cgroupsNamed(needle: string): string[] {
  const r = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', `*${needle}*`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** Processes whose command line contains `needle`. */
export function processesMatching(needle: string): number[] {
  const r = spawnSync('pgrep', ['-f', needle], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

export const isRoot = process.getuid?.() === 0;
