/**
 * Debian's docker-registry (`/usr/bin/docker-registry serve <config.yml>`)
 * for tests: storage in a temp dir, a free port on 127.0.0.1, plain http.
 * Modes: anonymous; htpasswd basic auth (bcrypt hashes made by `htpasswd`
 * from Debian's apache2-utils); token auth with the test token server.
 *   const reg = await startRegistry('basic');  … reg.host …  await reg.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTokenServer, type TokenServer } from './token-server.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const HTPASSWD_BIN = '/usr/bin/htpasswd';

export type RegistryMode = 'anonymous' | 'basic' | 'token';

export interface TestRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  mode: RegistryMode;
  /** the registry's storage root (rootdirectory) */
  storage: string;
  /** user and password accepted in basic and token modes */
  username: string;
  password: string;
  token: TokenServer | undefined;
  stop(): Promise<void>;
}

/** Why the registry tests cannot run here, or false. */
export const registrySkip: string | false = !existsSync(REGISTRY_BIN) ? `needs ${REGISTRY_BIN} (Debian docker-registry)`
  : !existsSync(HTPASSWD_BIN) ? `needs ${HTPASSWD_BIN} (Debian apache2-utils)`
  : spawnSync('openssl', ['version']).status !== 0 ? 'needs openssl' : false;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function authSection(mode: RegistryMode, dir: string, username: string, password: string, token: TokenServer | undefined): string {
  if (mode === 'basic') {
    const file = join(dir, 'htpasswd');
    const r = spawnSync(HTPASSWD_BIN, ['-Bbc', file, username, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    return `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${file}\n`;
  }
  if (mode === 'token' && token) {
    return `auth:\n  token:\n    realm: ${token.realm}\n    service: ${token.service}\n    issuer: ${token.issuer}\n    rootcertbundle: ${token.certFile}\n`;
  }
  return '';
}

async function waitUp(host: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited ${proc.exitCode}: ${logs()}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${host}: ${logs()}`);
}

export async function startRegistry(mode: RegistryMode = 'anonymous', opts: { username?: string; password?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const username = opts.username ?? 'berth';
  const password = opts.password ?? 'berth-secret';
  let token: TokenServer | undefined;
  let proc: ChildProcess | undefined;
  try {
    if (mode === 'token') token = await startTokenServer(dir, { [username]: password });
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const storage = join(dir, 'data');
    const config = [
      'version: 0.1',
      'log:\n  level: error\n  accesslog:\n    disabled: true',
      `storage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true`,
      `http:\n  addr: ${host}\n  secret: berth-test-secret`,
      authSection(mode, dir, username, password, token),
    ].join('\n');
    writeFileSync(join(dir, 'config.yml'), config);
    proc = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    proc.stdout!.on('data', (d: Buffer) => { logs = (logs + d.toString()).slice(-8000); });
    proc.stderr!.on('data', (d: Buffer) => { logs = (logs + d.toString()).slice(-8000); });
    const exited = new Promise<void>((resolve) => proc!.once('exit', () => resolve()));
    await waitUp(host, proc, () => logs);
    const child = proc;
    return {
      host, mode, storage, username, password, token,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
        await token?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    proc?.kill('SIGKILL');
    await token?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
