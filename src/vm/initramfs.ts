/**
 * The VM's initramfs: the static guest agent as /init, /dev/console, and the
 * virtio modules the guest needs with their dependencies (from each module's
 * .modinfo), listed in load order in /modules/order for the agent's
 * finit_module calls. Compressed modules (.ko.xz/.ko.zst/.ko.gz) are
 * decompressed here, since the agent loads plain ELF. The image is cached
 * under its content hash, so it is built once per agent and kernel.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { failedPrecondition, wrap } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import { S_IFCHR, S_IFDIR, S_IFREG, writeCpio, type CpioEntry } from './cpio.js';
import { TRANSPORT_MODULE, type Machine } from './machine.js';
import { dependsOf, loadOrder, normalizeModuleName, readModinfo } from './modinfo.js';

/** the machine's virtio transport (mmio or pci), the agent's channel, the rootfs, the network */
export const guestModules = (machine: Machine): string[] => [TRANSPORT_MODULE[machine], 'virtio_console', 'virtiofs', 'virtio_net'];

const MODULE_RE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** module name → file, over a modules tree */
export function indexModules(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (MODULE_RE.test(n)) out.set(normalizeModuleName(n.replace(MODULE_RE, '')), p);
    }
  };
  walk(dir);
  return out;
}

export function readModule(path: string): Buffer {
  const raw = readFileSync(path);
  if (path.endsWith('.ko')) return raw;
  if (path.endsWith('.gz')) return gunzipSync(raw);
  const tool = path.endsWith('.xz') ? 'xz' : 'zstd';
  try {
    return execFileSync(tool, ['-dc', path], { maxBuffer: 256 << 20 });
  } catch (err) {
    throw wrap(`cannot decompress kernel module ${path} (is ${tool} installed?)`, err);
  }
}

/** The modules to carry, in load order, with their bytes. Roots the kernel has built in are skipped. */
export function resolveModules(modulesDir: string, roots: string[]): { name: string; data: Buffer }[] {
  const index = indexModules(modulesDir);
  const bytes = new Map<string, Buffer>();
  const get = (name: string): Buffer | undefined => {
    const p = index.get(name);
    if (!p) return undefined;
    if (!bytes.has(name)) bytes.set(name, readModule(p));
    return bytes.get(name);
  };
  const present = roots.map(normalizeModuleName).filter((r) => index.has(r));
  const order = loadOrder(present, (name) => {
    const data = get(name);
    if (!data) throw failedPrecondition(`kernel module ${name} is needed but not in ${modulesDir}`);
    return dependsOf(readModinfo(data, name));
  });
  return order.map((name) => ({ name, data: get(name)! }));
}

export function buildInitramfs(agent: Buffer, modules: { name: string; data: Buffer }[]): Buffer {
  const entries: CpioEntry[] = [
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'init', mode: S_IFREG | 0o755, data: agent },
    { name: 'modules', mode: S_IFDIR | 0o755 },
  ];
  for (const m of modules) entries.push({ name: `modules/${m.name}.ko`, mode: S_IFREG | 0o644, data: m.data });
  const order = modules.map((m) => `/modules/${m.name}.ko\n`).join('');
  entries.push({ name: 'modules/order', mode: S_IFREG | 0o644, data: Buffer.from(order) });
  return writeCpio(entries);
}

/** Path of the cached initramfs for this agent and kernel, built on first use. */
export function ensureInitramfs(agentPath: string, modulesDir: string | undefined, cacheDir: string, machine: Machine = 'microvm'): string {
  if (!existsSync(agentPath)) throw failedPrecondition(`berth-vm guest agent ${agentPath} is missing: run the build`);
  const agent = readFileSync(agentPath);
  const modules = modulesDir ? resolveModules(modulesDir, guestModules(machine)) : [];
  const image = buildInitramfs(agent, modules);
  const hash = createHash('sha256').update(image).digest('hex');
  const dir = join(cacheDir, 'initramfs');
  const path = join(dir, `${hash.slice(0, 32)}.cpio`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, image, 0o644, true);
  }
  return path;
}

