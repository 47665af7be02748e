/**
 * Container lifecycles under kill -9. CLIENTS clients at once (half through
 * the docker CLI, half through raw HTTP) loop create → start → exec → logs
 * → stop → remove on containers that print numbered lines, while a chaos
 * loop kill -9s berthd, berth-core and random shims and brings the daemons
 * back. Clients retry what a user would retry (the daemon away) but never a
 * create that was acknowledged. Afterwards the daemon's word is checked
 * against the ledger: containers, exit codes, log lines; then everything the
 * instance put in the kernel and on disk is audited for things no container
 * owns, before and after removing every container.
 *   BERTH_CHAOS_SECONDS (default 60), BERTH_CHAOS_CLIENTS (default 4)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CoreClient } from '../../src/core/client.js';
import { docker, layout, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import {
  api, berthCgroups, busyboxTar, checkLog, cli, corePid, demux, idsIn, idsOf, instanceVeths, mountsUnder, nftRules,
  shimPids, sleep, streamOutput, transient, type Outcome,
} from '../helpers/chaos.js';

const SECONDS = Number(process.env.BERTH_CHAOS_SECONDS ?? 60);
const CLIENTS = Number(process.env.BERTH_CHAOS_CLIENTS ?? 4);
/** How long a client keeps retrying one step while the daemon is away. */
const STEP_PATIENCE_MS = 90_000;
const skip = skipBerthd;

// the container's own counter: `line n` at a steady rate, `end n` when stopped
const SCRIPT = 'i=0; trap \'echo "end $i"; exit 0\' TERM; while true; do i=$((i+1)); echo "line $i"; sleep 0.05; done';

let dir = '';
let l: Layout;
let b: Berthd;
let baseline = { mounts: [] as string[], nft: '' };

interface Entry {
  client: number;
  name: string;
  id?: string;
  /** 'ack': the daemon answered the create; 'found': an unanswered create that did happen; 'none': it did not */
  created?: 'ack' | 'found' | 'none';
  removed: boolean;
  exitCode?: number;
  lastLine?: number;
  problems: string[];
  /** each attempt of each step, with its time: printed for an entry with problems */
  trace: string[];
}

const ledger: Entry[] = [];
const shimKilled = new Set<string>();
const kills = { berthd: 0, core: 0, shim: 0 };
const findings: string[] = [];
let operations = 0;
let transientRetries = 0;
const t0 = Date.now();
const at = (): string => `${((Date.now() - t0) / 1000).toFixed(2)}s`;
/** the chaos loop's kills and restarts, with their times */
const timeline: string[] = [];
/** stderr of the berthd processes killed so far (the current one's is read at the end) */
const pastBerthdLogs: string[] = [];

/** Retries a step while it fails transiently (the daemon away); the last outcome. Each attempt goes into e's trace. */
async function retrying<T>(step: () => Promise<Outcome<T>>, e?: Entry, label = ''): Promise<Outcome<T> & { retried: boolean }> {
  const deadline = Date.now() + STEP_PATIENCE_MS;
  let retried = false;
  for (;;) {
    operations++;
    const began = at();
    const r = await step();
    e?.trace.push(`${began}–${at()} ${label}: ${r.ok ? 'ok' : `${r.transient ? 'transient' : 'failed'} ${r.status} ${r.message.slice(0, 200)}`}`);
    if (r.ok || !r.transient || Date.now() > deadline) return { ...r, retried };
    retried = true;
    transientRetries++;
    await sleep(200 + Math.random() * 300);
  }
}

/** The lifecycle calls, through the CLI or the HTTP API. */
interface Driver {
  create(name: string): Promise<Outcome<string>>;
  idOf(name: string): Promise<Outcome<string>>;
  start(name: string): Promise<Outcome<unknown>>;
  exec(name: string, word: string): Promise<Outcome<string>>;
  logs(name: string): Promise<Outcome<string>>;
  stop(name: string): Promise<Outcome<unknown>>;
  exitCode(name: string): Promise<Outcome<number>>;
  remove(name: string): Promise<Outcome<unknown>>;
}

const viaCli = (sock: () => string): Driver => ({
  create: async (name) => then(await cli(sock(), ['create', '--name', name, 'busybox', 'sh', '-c', SCRIPT]), (o) => o.trim()),
  idOf: async (name) => then(await cli(sock(), ['inspect', '--format', '{{.Id}}', name]), (o) => o.trim()),
  start: (name) => cli(sock(), ['start', name]),
  exec: (name, word) => cli(sock(), ['exec', name, 'echo', word]),
  logs: (name) => cli(sock(), ['logs', name]),
  stop: (name) => cli(sock(), ['stop', '-t', '10', name]),
  exitCode: async (name) => then(await cli(sock(), ['inspect', '--format', '{{.State.ExitCode}}', name]), (o) => Number(o.trim())),
  remove: (name) => cli(sock(), ['rm', name]),
});

const viaApi = (sock: () => string): Driver => ({
  create: async (name) => then(await api(sock(), 'POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sh', '-c', SCRIPT] }),
    (r) => String((JSON.parse(r.body.toString()) as { Id: string }).Id)),
  idOf: async (name) => then(await api(sock(), 'GET', `/containers/${name}/json`), (r) => String((JSON.parse(r.body.toString()) as { Id: string }).Id)),
  start: (name) => api(sock(), 'POST', `/containers/${name}/start`),
  exec: async (name, word) => {
    const c = await api(sock(), 'POST', `/containers/${name}/exec`, { Cmd: ['echo', word], AttachStdout: true, AttachStderr: true });
    if (!c.ok) return c;
    const id = String((JSON.parse(c.value.body.toString()) as { Id: string }).Id);
    const started = forgotten(await api(sock(), 'POST', `/exec/${id}/start`, { Detach: false, Tty: false }));
    if (!started.ok) return started;
    const out = streamOutput(started.value.body);
    if (!out.ok) return out;
    // a raw stream ends at the connection's close, so a berthd killed under it looks like the end:
    // as the docker CLI does, the exec's inspect says whether it ran to its end
    const ended = forgotten(await api(sock(), 'GET', `/exec/${id}/json`));
    if (!ended.ok) return ended;
    const x = JSON.parse(ended.value.body.toString()) as { Running: boolean; ExitCode: number | null };
    if (x.Running || x.ExitCode !== 0) return { ok: false, transient: false, status: 0, message: `exec ended with Running ${x.Running}, ExitCode ${x.ExitCode}` };
    return out;
  },
  logs: async (name) => then(await api(sock(), 'GET', `/containers/${name}/logs?stdout=1&stderr=1`), (r) => demux(r.body)),
  stop: (name) => api(sock(), 'POST', `/containers/${name}/stop?t=10`),
  exitCode: async (name) => then(await api(sock(), 'GET', `/containers/${name}/json`),
    (r) => Number((JSON.parse(r.body.toString()) as { State: { ExitCode: number } }).State.ExitCode)),
  remove: (name) => api(sock(), 'DELETE', `/containers/${name}`),
});

/** A 404 for an exec: a berthd restarted since its create forgot it (see transient()); the user runs it again. */
function forgotten<T>(o: Outcome<T>): Outcome<T> {
  return !o.ok && o.status === 404 && transient(o.message) ? { ...o, transient: true } : o;
}

function then<A, B>(o: Outcome<A>, f: (a: A) => B): Outcome<B> {
  return o.ok ? { ok: true, value: f(o.value) } : o;
}

/** One lifecycle; what happened goes into the entry. */
async function lifecycle(d: Driver, e: Entry): Promise<void> {
  const created = await d.create(e.name);
  operations++;
  e.trace.push(`${at()} create: ${created.ok ? 'ok' : created.message.slice(0, 200)}`);
  if (created.ok) { e.id = created.value; e.created = 'ack'; } else if (!created.transient) {
    e.problems.push(`create: ${created.message}`);
    e.created = 'none';
    return;
  } else {
    // unanswered: the daemon may or may not have made it; ask by name instead of creating again blindly
    for (;;) {
      const found = await retrying(() => d.idOf(e.name));
      if (found.ok) { e.id = found.value; e.created = 'found'; break; }
      if (found.status !== 404 && !/No such/.test(found.message)) { e.problems.push(`inspect after an unanswered create: ${found.message}`); return; }
      const again = await d.create(e.name);
      operations++;
      if (again.ok) { e.id = again.value; e.created = 'ack'; break; }
      if (!again.transient) { e.problems.push(`create: ${again.message}`); e.created = 'none'; return; }
    }
  }
  const gone = (): boolean => shimKilled.has(e.id!);
  const started = await retrying(() => d.start(e.name), e, 'start');
  if (!started.ok && !gone()) e.problems.push(`start: ${started.message}`);
  await sleep(300 + Math.random() * 700);
  const word = `exec-${e.name}`;
  const ex = await retrying(() => d.exec(e.name, word), e, 'exec');
  if (!gone() && !(ex.ok && ex.value === `${word}\n`)) e.problems.push(`exec: ${ex.ok ? JSON.stringify(ex.value) : ex.message}`);
  const mid = await retrying(() => d.logs(e.name), e, 'logs');
  if (mid.ok) {
    const c = checkLog(mid.value);
    if (c.gaps.length > 0) e.problems.push(`logs while running: ${c.gaps.slice(0, 3).join('; ')}`);
  } else e.problems.push(`logs: ${mid.message}`);
  let stopped = await retrying(() => d.stop(e.name), e, 'stop');
  // a shim killed under the stop: the user tries again, once
  if (!stopped.ok && gone()) stopped = await sleep(1000).then(() => retrying(() => d.stop(e.name), e, 'stop again'));
  if (!stopped.ok) e.problems.push(`stop: ${stopped.message}`);
  const code = await retrying(() => d.exitCode(e.name));
  if (code.ok) e.exitCode = code.value; else e.problems.push(`inspect: ${code.message}`);
  if (!gone() && e.exitCode !== 0) {
    const st = await api(b.sock, 'GET', `/containers/${e.name}/json`);
    const why = st.ok ? (JSON.parse(st.value.body.toString()) as { State: { Error: string } }).State.Error : st.message;
    e.problems.push(`exit code ${e.exitCode} after stop (the trap exits 0): ${why}`);
  }
  const final = await retrying(() => d.logs(e.name), e, 'final logs');
  if (final.ok) {
    const c = checkLog(final.value);
    e.lastLine = c.last;
    if (c.gaps.length > 0) e.problems.push(`log: ${c.gaps.slice(0, 3).join('; ')}`);
    // the counter's last value is in the `end` line: every line before it must be in the log
    if (!gone() && c.end !== c.last) e.problems.push(`log ends at line ${c.last} but the container counted ${c.end ?? '(no end line)'}`);
  } else e.problems.push(`final logs: ${final.message}`);
  const removed = await retrying(() => d.remove(e.name), e, 'remove');
  if (removed.ok) e.removed = true;
  else if (removed.retried && removed.status === 404) e.removed = true; // an unanswered remove that did happen
  else e.problems.push(`remove: ${removed.message}`);
}

async function client(k: number, deadline: number): Promise<void> {
  const sock = (): string => b.sock;
  const d = k % 2 === 0 ? viaCli(sock) : viaApi(sock);
  for (let n = 0; Date.now() < deadline; n++) {
    const e: Entry = { client: k, name: `chaos-${k}-${n}`, removed: false, problems: [], trace: [] };
    ledger.push(e);
    try { await lifecycle(d, e); } catch (err) { e.problems.push(`client: ${(err as Error).stack ?? String(err)}`); }
  }
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

async function restartBerthd(): Promise<void> {
  b = await ready(spawnBerthd(l), 60_000);
}

async function chaos(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    await sleep(1000 + Math.random() * 3000);
    if (Date.now() >= deadline) break;
    const kind = pick(['berthd', 'core', 'shim', 'shim'] as const);
    if (kind === 'berthd') {
      b.proc.kill('SIGKILL');
      await b.exited;
      timeline.push(`${at()} berthd killed`);
      pastBerthdLogs.push(b.stderr());
      kills.berthd++;
      await sleep(Math.random() * 1500);
      await restartBerthd();
      timeline.push(`${at()} berthd answering again`);
    } else if (kind === 'core') {
      const pids = corePid(l);
      if (pids.length === 0) continue;
      for (const p of pids) process.kill(p, 'SIGKILL');
      timeline.push(`${at()} core killed`);
      kills.core++;
      // berthd is to bring its core back by itself; a berthd that does not is restarted, and that is a finding
      const back = Date.now() + 15_000;
      while (Date.now() < back && !(corePid(l).some((p) => !pids.includes(p)) && existsSync(join(l.execRoot, 'core.sock')))) await sleep(200);
      if (!corePid(l).some((p) => !pids.includes(p))) {
        findings.push('berthd did not restart its killed core within 15 s');
        b.proc.kill('SIGKILL');
        await b.exited;
        await restartBerthd();
      }
    } else {
      const shims = shimPids(l);
      if (shims.length === 0) continue;
      const p = pick(shims);
      const id = /--id ([0-9a-f]{64})/.exec(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' '))?.[1];
      if (id !== undefined) shimKilled.add(id);
      try { process.kill(p, 'SIGKILL'); kills.shim++; timeline.push(`${at()} shim ${p} of ${id?.slice(0, 12) ?? '?'} killed`); } catch { /* gone already */ }
    }
  }
}

interface Listed { Id: string; Names: string[]; State: string }

async function listAll(): Promise<Listed[]> {
  const r = await api(b.sock, 'GET', '/containers/json?all=1');
  assert.ok(r.ok, `cannot list containers: ${r.ok ? '' : r.message}`);
  return JSON.parse(r.value.body.toString()) as Listed[];
}

/** The core's active snapshots and its containers, in berthd's namespace. */
async function coreObjects(): Promise<{ snapshots: string[]; containers: string[] }> {
  const core = new CoreClient(join(l.execRoot, 'core.sock')).withNamespace('berthd');
  try {
    const { info } = await core.snapshots.List({ snapshotter: 'overlayfs', filters: [] });
    const { containers } = await core.containers.List({ filters: [] });
    return { snapshots: info.filter((s) => s.kind.toLowerCase().includes('active')).map((s) => s.name), containers: containers.map((c) => c.id) };
  } finally { core.close(); }
}

/** Every container id this instance ever had: the ledger's and those its core logged. */
function everyId(): Set<string> {
  let logged: string[] = [];
  try { logged = idsOf([readFileSync(join(l.execRoot, 'berth-core.log'), 'utf8')]); } catch { /* no log */ }
  return new Set([...ledger.flatMap((e) => (e.id ? [e.id] : [])), ...logged]);
}

/** What the instance holds that no container in `owners` owns. */
async function unowned(owners: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const known = everyId();
  for (const m of mountsUnder(dir).filter((x) => !baseline.mounts.includes(x))) {
    const ids = idsOf([m]);
    if (ids.length === 0 || ids.some((id) => !owners.has(id))) out.push(`mount ${m}`);
  }
  for (const [id, dirs] of berthCgroups()) if (known.has(id) && !owners.has(id)) out.push(...dirs.map((x) => `cgroup ${x}`));
  for (const p of shimPids(l)) {
    const ids = idsOf([readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ')]);
    if (ids.some((id) => !owners.has(id))) out.push(`shim ${p} (${ids.join(',')})`);
  }
  for (const id of idsIn(join(l.execRoot, 'core', 'berthd'))) if (!owners.has(id)) out.push(`state dir ${id}`);
  const inCore = await coreObjects();
  for (const s of inCore.snapshots) if (!owners.has(s)) out.push(`snapshot ${s}${known.has(s) ? '' : ' (an id no client was told)'}`);
  for (const c of inCore.containers) if (!owners.has(c)) out.push(`core container ${c}`);
  for (const id of idsIn(join(l.dataRoot, 'containers'))) if (!owners.has(id)) out.push(`container dir ${id}`);
  const veths = instanceVeths(l);
  if (veths.length > owners.size) out.push(`${veths.length} veths for ${owners.size} containers: ${veths.join(' ')}`);
  return out;
}

before(async () => {
  if (skip) return;
  // short: socket paths under it must fit in sun_path
  dir = mkdtempSync('/tmp/ch-');
  l = layout(dir);
  b = await ready(spawnBerthd(l));
  assert.equal(docker(b.sock, ['import', '--change', 'ENV PATH=/bin', busyboxTar(dir), 'busybox:latest']).status, 0);
  // one container run and removed first: the network instance exists, so its baseline rules are the empty state
  assert.equal(docker(b.sock, ['run', '--rm', 'busybox', 'true']).status, 0);
  baseline = { mounts: mountsUnder(dir), nft: nftRules(l) };
});

/** What a failing run needs to be understood: each problem entry's steps, the kills, and the daemons' log lines about it. */
function explain(entries: Entry[]): void {
  let coreLog = '';
  try { coreLog = readFileSync(join(l.execRoot, 'berth-core.log'), 'utf8'); } catch { /* none */ }
  const daemonLogs = [...pastBerthdLogs, b.stderr()].join('\n');
  console.log(`timeline:\n  ${timeline.join('\n  ')}`);
  for (const e of entries.slice(0, 5)) {
    console.log(`trace of ${e.name} (${e.id ?? 'no id'}):\n  ${e.trace.join('\n  ')}`);
    if (!e.id) continue;
    const about = (text: string): string[] => text.split('\n').filter((x) => x.includes(e.id!) || x.includes(e.name)).slice(-40);
    console.log(`berthd lines about it:\n  ${about(daemonLogs).join('\n  ')}`);
    console.log(`berth-core lines about it:\n  ${about(coreLog).join('\n  ')}`);
  }
}

after(async () => {
  if (skip) return;
  const ids = docker(b.sock, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) docker(b.sock, ['rm', '-f', ...ids]);
  await stop(b);
  for (const p of corePid(l)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  for (const p of shimPids(l)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  await sleep(300);
  for (const m of mountsUnder(dir).sort().reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

test(`lifecycles from ${CLIENTS} clients for ${SECONDS} s under kill -9 of berthd, berth-core and shims: nothing lost, nothing left`, { skip, timeout: (SECONDS + 600) * 1000 }, async () => {
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all([chaos(deadline), ...Array.from({ length: CLIENTS }, (_, k) => client(k, deadline))]);
  // the daemons up for the audit (a last kill may have left the core restarting)
  b = await ready(b, 60_000);
  const listed = await listAll();
  const byName = new Map(listed.map((c) => [c.Names[0]!.replace(/^\//, ''), c]));
  const problems: string[] = [];
  for (const e of ledger) {
    for (const p of e.problems) problems.push(`${e.name}${e.id && shimKilled.has(e.id) ? ' (shim killed)' : ''}: ${p}`);
    const c = byName.get(e.name);
    if (e.created === 'none' || e.removed) { if (c) problems.push(`${e.name}: exists (${c.State}) though ${e.removed ? 'removed' : 'never created'}`); continue; }
    if (!c) { if (e.id) problems.push(`${e.name}: the daemon said it exists (${e.id.slice(0, 12)}) and it is gone`); continue; }
    if (c.Id !== e.id) problems.push(`${e.name}: id ${c.Id.slice(0, 12)}, the daemon said ${e.id?.slice(0, 12)}`);
    if (!['running', 'exited', 'created'].includes(c.State)) problems.push(`${e.name}: state ${c.State}`);
  }
  for (const c of listed) if (!ledger.some((e) => e.name === c.Names[0]!.replace(/^\//, ''))) problems.push(`orphan container ${c.Names[0]} ${c.Id.slice(0, 12)}`);
  // containers whose shim was killed: exited, with a code and a reason
  for (const id of shimKilled) {
    const r = await api(b.sock, 'GET', `/containers/${id}/json`);
    if (!r.ok) continue; // removed since
    const st = (JSON.parse(r.value.body.toString()) as { State: { Status: string; ExitCode: number; Error: string } }).State;
    if (st.Status === 'running') problems.push(`${id.slice(0, 12)}: running though its shim was killed`);
    else if (!Number.isInteger(st.ExitCode)) problems.push(`${id.slice(0, 12)}: exit code ${st.ExitCode}`);
  }
  const codes = ledger.filter((e) => e.exitCode !== undefined).map((e) => e.exitCode!);
  const unknownCodes = codes.filter((c) => !Number.isInteger(c) || c < 0 || c > 255);
  const owners = new Set(listed.map((c) => c.Id));
  const leftWithContainers = await unowned(owners);
  // then every container removed: nothing of them may stay
  for (const c of listed) await api(b.sock, 'DELETE', `/containers/${c.Id}?force=1`);
  await sleep(500);
  const leftAfter = await unowned(new Set());
  const nftAfter = nftRules(l);
  if (nftAfter !== baseline.nft) leftAfter.push(`nft rules differ from the empty state:\n${nftAfter}`);
  const lines = ledger.reduce((s, e) => s + (e.lastLine ?? 0), 0);
  const summary = `chaos: ${SECONDS} s, ${CLIENTS} clients, ${ledger.length} lifecycles (${ledger.filter((e) => e.removed).length} completed), ${operations} operations `
    + `(${transientRetries} retried while the daemon was away), kills: berthd ${kills.berthd}, core ${kills.core}, shim ${kills.shim}; `
    + `${lines} log lines checked; losses: ${problems.length} problems, ${unknownCodes.length} unknown exit codes, `
    + `${leftWithContainers.length + leftAfter.length} leftovers`;
  console.log(summary);
  for (const f of findings) console.log(`finding: ${f}`);
  for (const p of problems.slice(0, 40)) console.log(`problem: ${p}`);
  if (problems.length > 0) explain(ledger.filter((e) => e.problems.length > 0));
  for (const x of [...leftWithContainers, ...leftAfter].slice(0, 40)) console.log(`leftover: ${x}`);
  assert.ok(ledger.filter((e) => e.removed).length >= CLIENTS, 'the clients completed lifecycles');
  assert.deepEqual(findings, []);
  assert.deepEqual(problems, []);
  assert.deepEqual(unknownCodes, []);
  assert.deepEqual(leftWithContainers, []);
  assert.deepEqual(leftAfter, []);
});
