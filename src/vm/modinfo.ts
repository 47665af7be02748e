/**
 * Reads a kernel module's `.modinfo` ELF section (NUL-separated key=value
 * strings) without modinfo(8): the host has no depmod data for the guest's
 * kernel, so the modules' own `depends=` fields decide the load order.
 */
import { invalidArgument } from '../common/errors.js';

/** The `.modinfo` strings of an ELF64 little-endian object (.ko). */
export function readModinfo(elf: Buffer, name = 'module'): Map<string, string[]> {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw invalidArgument(`${name} is not an ELF file`);
  if (elf[4] !== 2 || elf[5] !== 1) throw invalidArgument(`${name} is not a 64-bit little-endian ELF file`);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  const strtab = section(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = elf.indexOf(0, strtab.offset + s.name);
    if (elf.toString('latin1', strtab.offset + s.name, nameEnd) !== '.modinfo') continue;
    for (const entry of elf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), entry.slice(eq + 1)]);
    }
  }
  return out;
}

/** Module names this module needs loaded first. */
export function dependsOf(info: Map<string, string[]>): string[] {
  return (info.get('depends') ?? []).flatMap((d) => d.split(',')).filter((d) => d.length > 0).map(normalizeModuleName);
}

/** The kernel treats '-' and '_' in module names alike. */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * Dependencies first, each module once (depth-first post-order from the
 * roots); a cycle is an error rather than an endless load.
 */
export function loadOrder(roots: string[], depends: (name: string) => string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw invalidArgument(`kernel module dependency cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const d of depends(name)) visit(d, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const r of roots) visit(normalizeModuleName(r), []);
  return order;
}
