/**
 * berth-vm has berth-runtime's command line (runc 1.1's), so an engine that
 * drives one drives the other: every verb, every global and per-verb option
 * of berth-runtime's help is in berth-vm's. Read from both programs' help,
 * in-process, without a container.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { runCommandLine } from '../../src/runtime/cli/parse.js';
import type { Conversation, Request } from '../../src/runtime/planner/conversation.js';
import { main as vmMain } from '../../src/vm/cli.js';
import { createLogger } from '../../src/common/log.js';

async function runtimeHelp(args: string[]): Promise<string> {
  let out = '';
  const sink = { write: (s: string | Uint8Array): void => { out += String(s); } };
  const base = {
    program: 'berth-runtime', cwd: '/', stdout: sink, stderr: sink, readStdin: async () => Buffer.alloc(0), stdinIsTty: false,
    signal: new AbortController().signal,
  } as unknown as Parameters<typeof runCommandLine>[1];
  // --help never reaches a command: the planner's conversation is not used
  await runCommandLine(args, base, {} as Conversation, {} as Request, () => createLogger([]));
  return out;
}

async function vmHelp(args: string[]): Promise<string> {
  let out = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  await vmMain(args, {}, { stdout: sink, stderr: sink });
  return out;
}

const verbs = (help: string): string[] => {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return section.split('\n').map((l) => /^ {2}([a-z]+)\b/.exec(l)?.[1]).filter((v): v is string => Boolean(v) && v !== 'help');
};
const options = (help: string): string[] => [...new Set([...help.matchAll(/(?:^|[\s,])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b/gm)].map((m) => m[1]!))].sort();

test('berth-vm takes every verb and option of berth-runtime', async () => {
  const rtTop = await runtimeHelp(['--help']);
  const vmTop = await vmHelp(['--help']);
  const rtVerbs = verbs(rtTop);
  assert.ok(rtVerbs.length >= 15 && rtVerbs.includes('create') && rtVerbs.includes('exec'), `runtime verbs: ${rtVerbs.join(' ')}`);
  assert.deepEqual(rtVerbs.filter((v) => !verbs(vmTop).includes(v)), [], 'verbs berth-vm lacks');
  assert.deepEqual(options(rtTop.split(/^Commands:$/m)[0]!).filter((o) => !options(vmTop).includes(o)), [], 'global options berth-vm lacks');
  for (const v of rtVerbs) {
    const rt = options(await runtimeHelp([v, '--help']));
    const vm = options(await vmHelp([v, '--help']));
    assert.deepEqual(rt.filter((o) => !vm.includes(o)), [], `options of ${v} that berth-vm lacks`);
  }
});
