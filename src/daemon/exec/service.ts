/**
 * docker exec on the core's exec: a record per exec (in memory, as
 * dockerd's exec store; dropped with its container), the process spec
 * derived from the container's (args, env, cwd, user, terminal, all
 * capabilities when privileged), started with its attachment in place so
 * no output is lost, its exit recorded before the client's stream ends.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { CoreAttachment, CoreAttachOptions } from '../../core/attachment.js';
import type { AttachedProcess, ExecStartOptions } from '../../api/index.js';
import type { CoreClient } from '../../core/client.js';
import { hostCapabilities, type ContainerRecord, type ContainerService } from '../containers/index.js';
import { resolveUser } from '../spec/user.js';
import { resolveInRoot } from '../archive/resolve.js';
import { CoreSession } from '../streams/session.js';
import { attachResuming, whileCoreAway } from '../streams/resume.js';

export interface ExecConfig {
  Cmd: string[];
  Env: string[];
  User: string;
  WorkingDir: string;
  Tty: boolean;
  Privileged: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
}

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Config: ExecConfig;
  Running: boolean;
  Started: boolean;
  ExitCode: number | null;
  Pid: number;
  /** In the container's ExecIDs: from its create until it ends (or the container stops) */
  Listed: boolean;
}

interface OciProcess {
  terminal?: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Record<string, string[]>;
  [k: string]: unknown;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The exec body as Docker reads it; an empty Cmd is a 400. */
export function execConfig(body: Record<string, unknown>): ExecConfig {
  const cmd = strings(body.Cmd);
  if (cmd.length === 0) throw invalidArgument('No exec command specified (Cmd is empty)');
  return {
    Cmd: cmd, Env: strings(body.Env), User: typeof body.User === 'string' ? body.User : '', WorkingDir: typeof body.WorkingDir === 'string' ? body.WorkingDir : '',
    Tty: body.Tty === true, Privileged: body.Privileged === true, AttachStdin: body.AttachStdin === true,
    AttachStdout: body.AttachStdout === true, AttachStderr: body.AttachStderr === true, DetachKeys: typeof body.DetachKeys === 'string' ? body.DetachKeys : '',
  };
}

/** Env entries: later ones replace earlier ones of the same name. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) out.set(e.split('=', 1)[0]!, e);
  return [...out.values()];
}

/** The exec's process spec from the container's. */
export function execProcess(base: OciProcess, cfg: ExecConfig, user: { uid: number; gid: number; additionalGids: number[] } | undefined, allCaps: string[]): OciProcess {
  const p: OciProcess = { ...base, args: cfg.Cmd, env: mergeEnv(base.env ?? [], cfg.Env), cwd: cfg.WorkingDir || base.cwd || '/', terminal: cfg.Tty };
  delete p.consoleSize;
  if (user) p.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
  if (cfg.Privileged) p.capabilities = { bounding: allCaps, effective: allCaps, permitted: allCaps };
  return p;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(private readonly core: CoreClient, private readonly containers: ContainerService) {
    containers.on('removed', (id) => { for (const [k, e] of this.execs) if (e.ContainerID === id) this.execs.delete(k); });
    // dockerd forgets a container's execs when it stops: none is listed in ExecIDs any more
    containers.on('exit', (id) => { for (const e of this.execs.values()) if (e.ContainerID === id) { e.Running = false; e.Pid = 0; e.Listed = false; } });
    containers.execIds = (id) => this.listed(id);
  }

  /** The container's execs dockerd lists in ExecIDs: created or running, in order of creation. */
  private listed(containerId: string): string[] {
    const ids: string[] = [];
    for (const e of this.execs.values()) if (e.ContainerID === containerId && e.Listed) ids.push(e.ID);
    return ids;
  }

  private runningContainer(ref: string): ContainerRecord {
    const c = this.containers.get(ref);
    // dockerd names the container as the client did here (and by its ID when it is not running)
    if (c.State.Status === 'paused') throw failedPrecondition(`Container ${ref} is paused, unpause the container before exec`);
    if (c.State.Status !== 'running') throw failedPrecondition(`Container ${c.ID} is not running`);
    return c;
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  create(ref: string, body: Record<string, unknown>): { Id: string } {
    const c = this.runningContainer(ref);
    const cfg = execConfig(body);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { ID: id, ContainerID: c.ID, Config: cfg, Running: false, Started: false, ExitCode: null, Pid: 0, Listed: true });
    this.containers.publish(c, `exec_create: ${cfg.Cmd.join(' ')}`, { execID: id });
    return { Id: id };
  }

  /** The user named by `-u`, from the container's /etc/passwd and /etc/group as it is now. */
  private user(c: ContainerRecord, name: string): { uid: number; gid: number; additionalGids: number[] } | undefined {
    if (name === '') return undefined;
    const root = `/proc/${c.State.Pid}/root`;
    const read = (p: string): string | undefined => { try { return readFileSync(resolveInRoot(root, p, true).host, 'utf8'); } catch { return undefined; } };
    return resolveUser(name, read('/etc/passwd'), read('/etc/group'));
  }

  /**
   * Runs a process in the container; `attach` wanted: its session is in place before it starts.
   * The core dying meanwhile costs nothing: the attach resumes and the wait is asked again once
   * it is back (streams/resume.ts); the core forgets the exec only after both are done.
   */
  async run(c: ContainerRecord, execId: string, cfg: ExecConfig, attach: boolean, onExit: (code: number | undefined) => void = () => undefined): Promise<{ pid: number; session?: CoreSession; wait: Promise<number> }> {
    const { container } = await this.core.containers.Get({ id: c.ID });
    const spec = JSON.parse(container!.spec.toString('utf8')) as { process: OciProcess };
    const proc = execProcess(spec.process, cfg, this.user(c, cfg.User), hostCapabilities());
    await this.core.tasks.Exec({ containerId: c.ID, execId, stdin: cfg.AttachStdin ? 'pipe' : '', terminal: cfg.Tty, spec: Buffer.from(JSON.stringify(proc)) });
    const forget = (): void => { void this.core.tasks.DeleteProcess({ containerId: c.ID, execId }).catch(() => undefined); };
    let attachment: CoreAttachment | undefined;
    try {
      const { pid } = await this.core.tasks.Start({ containerId: c.ID, execId });
      // the core attaches to running execs only: attached right after the start, with the exec's log
      // replayed first, so output written before the attach is not lost
      if (attach) attachment = await attachResuming(this.core, this.execAttachOptions(c.ID, execId, cfg));
      const wait = whileCoreAway(() => this.core.tasks.Wait({ containerId: c.ID, execId })).then((w) => w.exitStatus);
      // the exit is recorded before the session's exit resolves: the client asks for it right after its stream ends
      const recorded = wait.then((code) => onExit(code), () => onExit(undefined));
      const session = attachment ? new CoreSession(Promise.resolve(attachment), undefined, () => recorded) : undefined;
      void Promise.allSettled([wait, session?.exit]).then(forget);
      return { pid, wait, session };
    } catch (err) {
      attachment?.close();
      forget();
      throw err;
    }
  }

  private execAttachOptions(containerId: string, execId: string, cfg: ExecConfig): CoreAttachOptions {
    const opts = { containerId, execId, stdin: cfg.AttachStdin, stdout: cfg.AttachStdout || cfg.Tty, stderr: cfg.AttachStderr };
    if (!opts.stdout && !opts.stderr && !opts.stdin) opts.stdout = true;
    return opts;
  }

  async start(id: string, opts: ExecStartOptions): Promise<AttachedProcess | undefined> {
    const e = this.get(id);
    if (e.Started) throw failedPrecondition(`Error: Exec command ${id} has already run`);
    const c = this.runningContainer(e.ContainerID);
    e.Started = true;
    e.Running = true;
    if (opts.tty) e.Config.Tty = e.Config.Tty || opts.tty;
    const cmd = e.Config.Cmd.join(' ');
    let started;
    try {
      started = await this.run(c, id, e.Config, !opts.detach, (code) => {
        e.Running = false;
        e.Pid = 0;
        e.Listed = false;
        if (code === undefined) return;
        e.ExitCode = code;
        this.containers.publish(c, 'exec_die', { execID: id, exitCode: String(code) });
      });
    } catch (err) {
      e.Running = false;
      e.Listed = false;
      e.ExitCode = 126;
      throw err;
    }
    if (e.Running) e.Pid = started.pid;
    this.containers.publish(c, `exec_start: ${cmd}`, { execID: id });
    if (!started.session) return undefined;
    return { tty: e.Config.Tty, closeStdinOnEnd: true, detachKeys: e.Config.DetachKeys, session: started.session };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const e = this.get(id);
    if (!e.Running || height <= 0 || width <= 0) return;
    await this.core.tasks.ResizePty({ containerId: e.ContainerID, execId: id, width, height });
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    const cfg = e.Config;
    return {
      CanRemove: false, ContainerID: e.ContainerID, DetachKeys: cfg.DetachKeys, ExitCode: e.ExitCode, ID: e.ID,
      OpenStderr: cfg.AttachStderr, OpenStdin: cfg.AttachStdin, OpenStdout: cfg.AttachStdout,
      ProcessConfig: {
        arguments: cfg.Cmd.slice(1), entrypoint: cfg.Cmd[0], privileged: cfg.Privileged, tty: cfg.Tty,
        ...(cfg.User !== '' ? { user: cfg.User } : {}), ...(cfg.WorkingDir !== '' ? { workingDir: cfg.WorkingDir } : {}),
      },
      Running: e.Running, Pid: e.Pid,
    };
  }
}
