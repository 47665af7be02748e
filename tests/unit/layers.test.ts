/**
 * Layer rules of ARCHITECTURE.md, checked: a layer imports src/common, the
 * protocol modules of the layers it talks to, and itself — never another
 * layer's internals. A new cross-layer import fails here until it goes
 * through a protocol module (or is listed, with its reason, below).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Modules that declare a protocol between layers (and its typed client). */
const PROTOCOL_MODULES = [
  'runtime/plan/format.ts', 'runtime/plan/wire.ts', 'runtime/plan/header.ts', // planner ↔ C front
  'shim/protocol.ts', 'shim/codec.ts', 'shim/header.ts', 'shim/client.ts', 'shim/index.ts', // core ↔ shim
  'core/client.ts', 'core/attachment.ts', 'core/api/types.ts', 'core/api/proto.ts', // anyone ↔ core (gRPC) and its client
  'api/index.ts', // berthd's API ↔ its daemon: the backend interfaces the daemon implements
];

/** Known crossings, each with the reason it is tolerated for now. */
const EXCEPTIONS: Record<string, string> = {
  'ctr -> core/config.ts': 'berth-ctr reads the runtime table of the core config to validate --runtime',
  // ARCHITECTURE.md's fast path: the core runs the planner's conversation in-process
  'core -> runtime/planner/conversation.ts': 'the fast path plans in the core, with the code berth-runtime\'s planner runs',
  'core -> runtime/planner/session.ts': 'the fast path plans in the core, with the code berth-runtime\'s planner runs',
  // berth-sandbox (issue 7) is berth-runtime's front and planner plus a section in the plan
  'runtime -> sandbox/index.ts': 'plans of a berth-sandbox container get the sandbox section (policy filter, supervisor table)',
  'sandbox -> runtime/seccomp/assembler.ts': 'the sandbox policy compiles to BPF with the runtime\'s assembler',
  'sandbox -> runtime/seccomp/bpf.ts': 'the sandbox policy compiles to BPF with the runtime\'s assembler',
  'sandbox -> runtime/seccomp/actions.ts': 'the sandbox policy compiles to BPF with the runtime\'s assembler',
  'sandbox -> runtime/seccomp/index.ts': 'the sandbox policy names syscalls with the runtime\'s tables',
};

/**
 * Layers built on another layer's code as a whole: berth-vm is an OCI runtime
 * with berth-runtime's command line, spec loading, state and cgroups — only
 * what runs around the container differs (issue 8: "share the code").
 */
const BUILT_ON: Record<string, string> = { vm: 'runtime' };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(srcRelative: string): string {
  return srcRelative.split('/')[0]!;
}

test('layers import only common, protocol modules and themselves', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const from = layerOf(relative(SRC, file));
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue; // outside src (none expected)
      const to = layerOf(target);
      if (to === from || to === 'common' || PROTOCOL_MODULES.includes(target) || BUILT_ON[from] === to) continue;
      const key = `${from} -> ${target}`;
      if (!(key in EXCEPTIONS)) violations.push(`${relative(SRC, file)} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('common depends on no layer', () => {
  for (const file of files(join(SRC, 'common'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(SRC, resolve(dirname(file), m[1]!));
      assert.equal(layerOf(target), 'common', `${relative(SRC, file)} imports ${target}`);
    }
  }
});
