/**
 * Container state on disk: `<root>/<id>/state.json` plus the exec fifo.
 * One format for every path that creates containers (berth-runtime's command
 * line, and berth-core's in-process fast path later), so `state`, `kill` and
 * `delete` work on any of them. The status is derived, never stored: it is
 * whatever the init process and the cgroup say now.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, alreadyExists, invalidArgument, notFound, wrap } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import { isAlive } from './procfs.js';
import type { Spec } from './spec/types.js';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface CgroupRecord {
  version: 1 | 2;
  /** controller (or "" on v2) → absolute cgroup directory */
  paths: Record<string, string>;
}

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** host pid of the container's init (0 before it exists) */
  pid: number;
  /** field 22 of /proc/<pid>/stat, to tell a reused pid from ours */
  initStartTime: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  cgroup: CgroupRecord | undefined;
  /** the config the container was created with (hooks, namespaces, process defaults for exec) */
  config: Spec;
  /** the runtime that created it (berth-runtime, berth-sandbox …) */
  runtime: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_+\-.]{0,1023}$/;

export function validateId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw invalidArgument(`invalid container id "${id}": use letters, digits, '_', '+', '-' and '.'`);
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string { return join(this.root, id); }
  fifoPath(id: string): string { return join(this.dir(id), 'exec.fifo'); }
  private file(id: string): string { return join(this.dir(id), 'state.json'); }

  /** Reserves the id: the state directory's creation is the lock against a duplicate create. */
  reserve(id: string): string {
    validateId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(`container with id ${id} already exists`);
      throw wrap(`cannot create state directory ${dir}`, err);
    }
    return dir;
  }

  save(rec: ContainerRecord): void {
    // volatile state (see writeFileAtomic): atomic, not fsynced
    writeFileAtomic(this.file(rec.id), JSON.stringify(rec), 0o600, false);
  }

  load(id: string): ContainerRecord {
    validateId(id);
    let text: string;
    try {
      text = readFileSync(this.file(id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // a directory without state.json is a create that is still running or died half-way
        if (existsSync(this.dir(id))) throw new BerthError('failed-precondition', `container ${id} is still being created`);
        throw notFound(`container ${id} does not exist`);
      }
      throw wrap(`cannot read state of container ${id}`, err);
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (err) {
      throw new BerthError('internal', `state of container ${id} is corrupt (${this.file(id)})`, { cause: err });
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids with a state directory, in creation order. */
  ids(): string[] {
    let names: string[];
    try { names = readdirSync(this.root); } catch { return []; }
    return names
      .filter((n) => ID_RE.test(n) && existsSync(this.file(n)))
      .map((n) => ({ n, t: statSync(this.file(n)).birthtimeMs || statSync(this.file(n)).ctimeMs }))
      .sort((a, b) => a.t - b.t)
      .map((x) => x.n);
  }
}

/** The container's status right now. `frozen` is asked of the cgroup only when needed. */
export function statusOf(rec: ContainerRecord, store: StateStore, frozen: () => boolean): Status {
  if (!isAlive(rec.pid, rec.initStartTime)) return 'stopped';
  if (existsSync(store.fifoPath(rec.id))) return 'created';
  return frozen() ? 'paused' : 'running';
}

/** The OCI state document (runtime-spec runtime.md "State"), as runc prints it. */
export function ociState(rec: ContainerRecord, status: Status): Record<string, unknown> {
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    annotations: rec.annotations,
  };
}
