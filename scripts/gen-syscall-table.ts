// Generates src/runtime/seccomp/syscalls.generated.ts: the syscall name →
// number tables the seccomp compiler needs, read from the kernel's uapi
// headers installed on this machine (linux-libc-dev), plus the AUDIT_ARCH_*
// values seccomp_data.arch carries.
//
//   npx tsx scripts/gen-syscall-table.ts [--check]
//
// x86_64, i386 and x32 come from asm/unistd_{64,32,x32}.h. aarch64 has no
// table of its own: arm64 includes asm-generic/unistd.h with a few
// __ARCH_WANT_* switches, so that header is evaluated here with arm64's
// switches. Syscalls newer than the installed headers are appended from
// LATER_SYSCALLS below: since Linux 5.1 a new syscall gets the same number on
// every architecture, so one list serves all four tables.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src/runtime/seccomp/syscalls.generated.ts');
const X32_SYSCALL_BIT = 0x40000000;

/** Where the multiarch asm headers live on Debian, or the plain path elsewhere. */
function asmHeader(name: string): string {
  for (const dir of ['/usr/include/x86_64-linux-gnu/asm', '/usr/include/asm']) {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      // try the next location
    }
  }
  throw new Error(`cannot read asm/${name}: install linux-libc-dev`);
}

/** `#define __NR_x 12` and `#define __NR_x (__X32_SYSCALL_BIT + 12)` lines of an x86 header. */
function parseX86(text: string): Map<string, number> {
  const table = new Map<string, number>();
  const re = /^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ (\d+)\)|(\d+))\s*$/gm;
  for (const m of text.matchAll(re)) {
    const nr = m[2] !== undefined ? X32_SYSCALL_BIT + Number(m[2]) : Number(m[3]);
    table.set(m[1]!, nr);
  }
  return table;
}

/**
 * Evaluates asm-generic/unistd.h as the C preprocessor would for an
 * architecture given by its macros. Only what the header uses is supported:
 * #if/#ifdef/#ifndef/#else/#endif, defined(), ==, !=, !, &&, || and parentheses.
 */
function parseGeneric(text: string, macros: Record<string, number>): Map<string, number> {
  const values = new Map<string, number>();
  const aliases = new Map<string, string>();
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = (): boolean => stack.every((s) => s.active);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const d = /^#\s*(\w+)\s*(.*)$/.exec(line);
    if (!d) continue;
    const [, directive, rest] = d as unknown as [string, string, string];
    const body = rest.replace(/\/\*.*?\*\//g, '').trim();
    if (directive === 'if' || directive === 'ifdef' || directive === 'ifndef') {
      const cond = directive === 'if' ? evalCondition(body, macros, values)
        : directive === 'ifdef' ? isDefined(body, macros, values)
        : !isDefined(body, macros, values);
      stack.push({ active: cond, taken: cond });
    } else if (directive === 'else') {
      const top = stack[stack.length - 1]!;
      top.active = !top.taken;
      top.taken = true;
    } else if (directive === 'endif') {
      stack.pop();
    } else if (directive === 'define' && active()) {
      const m = /^(__NR(?:3264)?_\w+)\s+(\w+)$/.exec(body);
      if (!m) continue;
      const [, name, value] = m as unknown as [string, string, string];
      if (/^\d+$/.test(value)) values.set(name, Number(value));
      else aliases.set(name, value);
    } else if (directive === 'undef' && active()) {
      values.delete(body);
    }
  }
  const table = new Map<string, number>();
  for (const [name, nr] of values) {
    if (name.startsWith('__NR_') && name !== '__NR_syscalls') table.set(name.slice(5), nr);
  }
  for (const [name, target] of aliases) {
    const nr = values.get(target);
    if (nr !== undefined && name.startsWith('__NR_')) table.set(name.slice(5), nr);
  }
  return table;
}

function isDefined(name: string, macros: Record<string, number>, values: Map<string, number>): boolean {
  return name in macros || values.has(name);
}

function evalCondition(expr: string, macros: Record<string, number>, values: Map<string, number>): boolean {
  const tokens = expr.match(/defined\s*\(\s*\w+\s*\)|defined\s+\w+|\|\||&&|==|!=|!|\(|\)|\w+/g) ?? [];
  let i = 0;
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`bad #if expression: ${expr}`);
    if (t === '!') return primary() ? 0 : 1;
    if (t === '(') {
      const v = or();
      i++; // ')'
      return v;
    }
    const def = /^defined\s*\(?\s*(\w+)\s*\)?$/.exec(t);
    if (def) return isDefined(def[1]!, macros, values) ? 1 : 0;
    if (/^\d+$/.test(t)) return Number(t);
    return macros[t] ?? values.get(t) ?? 0;
  };
  const equality = (): number => {
    let v = primary();
    while (tokens[i] === '==' || tokens[i] === '!=') {
      const op = tokens[i++];
      const r = primary();
      v = (op === '==' ? v === r : v !== r) ? 1 : 0;
    }
    return v;
  };
  const and = (): number => {
    let v = equality();
    while (tokens[i] === '&&') {
      i++;
      const r = equality();
      v = v && r ? 1 : 0;
    }
    return v;
  };
  const or = (): number => {
    let v = and();
    while (tokens[i] === '||') {
      i++;
      const r = and();
      v = v || r ? 1 : 0;
    }
    return v;
  };
  return or() !== 0;
}

// arm64's uapi asm/unistd.h (Linux 6.1): the switches it sets before
// including asm-generic/unistd.h.
const ARM64_MACROS: Record<string, number> = {
  __BITS_PER_LONG: 64,
  __ARCH_WANT_RENAMEAT: 1,
  __ARCH_WANT_NEW_STAT: 1,
  __ARCH_WANT_SET_GET_RLIMIT: 1,
  __ARCH_WANT_TIME32_SYSCALLS: 1,
  __ARCH_WANT_SYS_CLONE3: 1,
  __ARCH_WANT_MEMFD_SECRET: 1,
};

// Syscalls added after the installed headers, Linux 6.2 through 6.18, with
// their unified numbers (identical on x86_64, i386, x32 — plus the x32 bit —
// and the asm-generic architectures).
const LATER_SYSCALLS: [string, number][] = [
  ['cachestat', 451], ['fchmodat2', 452], ['map_shadow_stack', 453],
  ['futex_wake', 454], ['futex_wait', 455], ['futex_requeue', 456],
  ['statmount', 457], ['listmount', 458],
  ['lsm_get_self_attr', 459], ['lsm_set_self_attr', 460], ['lsm_list_modules', 461],
  ['mseal', 462], ['setxattrat', 463], ['getxattrat', 464], ['listxattrat', 465], ['removexattrat', 466],
  ['open_tree_attr', 467], ['file_getattr', 468], ['file_setattr', 469],
];

function withLater(table: Map<string, number>, bit: number): Map<string, number> {
  const known = new Set(table.values());
  for (const [name, nr] of LATER_SYSCALLS) {
    if (!table.has(name) && !known.has(bit + nr)) table.set(name, bit + nr);
  }
  return table;
}

/** AUDIT_ARCH_* from linux/audit.h, evaluated with the EM_* values of linux/elf-em.h. */
function auditArches(): Map<string, number> {
  const em = new Map<string, number>();
  for (const m of readFileSync('/usr/include/linux/elf-em.h', 'utf8').matchAll(/^#define (EM_\w+)\s+(0x[0-9a-fA-F]+|\d+)/gm)) {
    em.set(m[1]!, Number(m[2]));
  }
  const flags: Record<string, number> = { __AUDIT_ARCH_64BIT: 0x80000000, __AUDIT_ARCH_LE: 0x40000000, __AUDIT_ARCH_CONVENTION_MIPS64_N32: 0x20000000 };
  const audit = readFileSync('/usr/include/linux/audit.h', 'utf8').replace(/\\\n/g, ' ');
  const arches = new Map<string, number>();
  for (const m of audit.matchAll(/^#define AUDIT_ARCH_(\w+)\s+\(([^)]*)\)/gm)) {
    let v = 0;
    for (const part of m[2]!.split('|').map((s) => s.trim())) {
      const n = em.get(part) ?? flags[part];
      if (n === undefined) throw new Error(`unknown term ${part} in AUDIT_ARCH_${m[1]}`);
      v = (v | n) >>> 0;
    }
    arches.set(m[1]!, v);
  }
  return arches;
}

function renderTable(name: string, doc: string, table: Map<string, number>): string {
  const rows = [...table].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const hex = name === 'X32';
  const body = rows.map(([n, nr]) => `  ${n}: ${hex ? `0x${nr.toString(16)}` : nr},`).join('\n');
  return `/** ${doc} */\nexport const SYSCALLS_${name}: Readonly<Record<string, number>> = {\n${body}\n};\n`;
}

function render(): string {
  const x8664 = withLater(parseX86(asmHeader('unistd_64.h')), 0);
  const i386 = withLater(parseX86(asmHeader('unistd_32.h')), 0);
  const x32 = withLater(parseX86(asmHeader('unistd_x32.h')), X32_SYSCALL_BIT);
  const aarch64 = withLater(parseGeneric(readFileSync('/usr/include/asm-generic/unistd.h', 'utf8'), ARM64_MACROS), 0);
  const audit = auditArches();
  const auditRows = [...audit].map(([n, v]) => `  ${n}: 0x${v.toString(16).padStart(8, '0')},`).join('\n');
  return [
    '// Generated by scripts/gen-syscall-table.ts from the kernel uapi headers',
    '// (asm/unistd_64.h, asm/unistd_32.h, asm/unistd_x32.h, asm-generic/unistd.h,',
    '// linux/audit.h). Do not edit: run `npx tsx scripts/gen-syscall-table.ts`.',
    '',
    `/** __X32_SYSCALL_BIT: set in seccomp_data.nr for every x32 syscall. */`,
    `export const X32_SYSCALL_BIT = 0x${X32_SYSCALL_BIT.toString(16)};`,
    '',
    '/** AUDIT_ARCH_* values, as seccomp_data.arch carries them. */',
    `export const AUDIT_ARCH: Readonly<Record<string, number>> = {\n${auditRows}\n};`,
    '',
    renderTable('X86_64', 'x86_64 (asm/unistd_64.h).', x8664),
    renderTable('X86', 'i386, also the x86_64 kernel\'s 32-bit compat entry (asm/unistd_32.h).', i386),
    renderTable('X32', 'x32: x86_64 kernel, 32-bit pointers; numbers carry X32_SYSCALL_BIT (asm/unistd_x32.h).', x32),
    renderTable('AARCH64', 'arm64 (asm-generic/unistd.h with arm64\'s __ARCH_WANT_* switches).', aarch64),
  ].join('\n');
}

const text = render();
if (process.argv.includes('--check')) {
  const committed = readFileSync(out, 'utf8');
  if (committed !== text) {
    console.error(`${out} is stale: run npx tsx scripts/gen-syscall-table.ts`);
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
