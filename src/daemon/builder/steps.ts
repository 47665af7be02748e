/**
 * The instructions of a stage carried out as dockerd's classic builder
 * does: each one updates the config and commits an image. A step runs in
 * a container made from the image so far: RUN starts it (its output goes
 * to the build stream), WORKDIR creates the directory in it, the others
 * only commit it (no change: an empty layer, the `#(nop)` comment as the
 * history's created_by). A step the cache has is taken from it.
 */
import { posix } from 'node:path';
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { ContainersBackend, ContainerStreamsBackend, ImagesBackend } from '../../api/index.js';
import type { DaemonCommit } from '../images/commit.js';
import { inspectRef } from '../images/catalog.js';
import { cacheKey, KEY_LABEL, probeCache } from './cache.js';
import { PARENT_LABEL } from '../images/parents.js';
import { envMap, processWord, processWords, type Env } from './expand.js';
import { goDuration, goList, goQuoteList, goRune } from './format.js';
import type { BuildOutput } from './output.js';
import type { Instruction, Step } from './instructions.js';
import { copyConfig, shellOf, type BuildOptions, type DispatchState, type RunConfig } from './state.js';
import { copyTar } from './copy-tar.js';
import { copyStep } from './copy-step.js';
import { healthcheckConfig } from '../../common/healthcheck.js';

export interface StepDeps {
  core: CoreClient;
  containers: ContainersBackend;
  streams: ContainerStreamsBackend;
  images: ImagesBackend;
  commit: DaemonCommit;
  log: Logger;
}

/** A RUN that ended non-zero: dockerd's message and the exit code as the stream's error code. */
export class StepFailure extends BerthError {
  constructor(message: string, readonly exitCode: number) { super('failed-precondition', message); }
}

interface ContainerStepOptions {
  /** the container's config, when not the state's */
  createConfig?: RunConfig;
  /** print "Running in" and "Removing intermediate container" (steps dockerd runs a container for) */
  announced: boolean;
  /** what happens in the container before its commit */
  work?: (id: string) => Promise<void>;
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

export class StepRunner {
  /** the containers of this build still to remove (id → announced) */
  readonly pending = new Map<string, boolean>();
  /** set by the first cache miss of a stage: later steps of it are not looked up */
  cacheBusted = false;
  /** the images of the stages built so far, by name and by index (COPY --from) */
  readonly stageImages = new Map<string, string>();
  /** an image by name, pulled when absent (set by the builder) */
  imageFor: (name: string) => Promise<string> = () => Promise.reject(new Error('no image resolver'));
  /** a private directory for this build's files (the context is under it) */
  workDir = '';
  /** the unpacked context */
  contextDir = '';

  constructor(
    readonly deps: StepDeps,
    readonly opts: BuildOptions,
    readonly out: BuildOutput,
    readonly signal: AbortSignal,
    readonly escape: string,
  ) {}

  /** The environment words are expanded with: the config's Env, then the stage's ARGs not shadowed by it. */
  expansionEnv(s: DispatchState): Env {
    const env = s.runConfig.Env ?? [];
    return envMap([...env, ...s.buildArgs.filterAllowed(env).map(([k, v]) => `${k}=${v}`)]);
  }

  word(s: DispatchState, text: string): string { return processWord(text, this.expansionEnv(s), this.escape); }

  // ---- containers and commits ----

  async createContainer(s: DispatchState, config: RunConfig): Promise<string> {
    const body: Record<string, unknown> = {
      ...config, Image: s.imageId, AttachStdout: true, AttachStderr: true,
      HostConfig: { NetworkMode: this.opts.networkMode === '' ? 'default' : this.opts.networkMode },
    };
    const { Id } = await this.deps.containers.create(body, undefined, '');
    return Id;
  }

  async removeContainer(id: string, announce: boolean): Promise<void> {
    this.pending.delete(id);
    await this.deps.containers.remove(id, { force: true, volumes: true });
    if (announce) await this.out.text(`Removing intermediate container ${short(id)}\n`);
  }

  /** dockerd's end of a step: its containers go (rm), or always (force-rm), or even when it failed (force-rm). */
  async finishStep(failed: boolean): Promise<void> {
    // a build whose client went away leaves nothing, as dockerd removes the step's container on cancellation
    if (this.signal.aborted) {
      for (const id of [...this.pending.keys()]) await this.removeContainer(id, false).catch(() => undefined);
      return;
    }
    if (failed && !this.opts.forceRm) {
      // dockerd leaves the failed step's container for inspection; ours made only for copying go anyway
      for (const [id, announced] of [...this.pending]) if (!announced) await this.removeContainer(id, false).catch(() => undefined);
      return;
    }
    if (!this.opts.rm && !this.opts.forceRm) { this.pending.clear(); return; }
    for (const [id, announced] of [...this.pending]) await this.removeContainer(id, announced);
  }

  /** The image a step may reuse, printing "Using cache" when found. */
  private async cached(s: DispatchState, containerConfig: RunConfig): Promise<boolean> {
    if (this.opts.noCache || this.cacheBusted) return false;
    const hit = await probeCache(this.deps.core, s.imageId, cacheKey(containerConfig));
    if (hit === undefined) { this.cacheBusted = true; return false; }
    await this.out.text(' ---> Using cache\n');
    s.imageId = hit;
    s.fromScratch = false;
    return true;
  }

  /** A step in a container: cache probe, create, work, commit with containerConfig as its history. */
  async containerStep(s: DispatchState, containerConfig: RunConfig, o: ContainerStepOptions): Promise<void> {
    if (await this.cached(s, containerConfig)) return;
    const id = await this.createContainer(s, o.createConfig ?? { ...s.runConfig, Cmd: containerConfig.Cmd ?? null });
    this.pending.set(id, o.announced);
    if (o.announced) await this.out.text(` ---> Running in ${short(id)}\n`);
    if (o.work) await o.work(id);
    await this.commit(s, id, containerConfig, o.announced);
  }

  private async commit(s: DispatchState, id: string, containerConfig: RunConfig, recordContainer: boolean): Promise<void> {
    const parent = s.imageId;
    const labels: Record<string, string> = { [KEY_LABEL]: cacheKey(containerConfig) };
    if (!s.fromScratch) labels[PARENT_LABEL] = parent;
    const config = { ...copyConfig(s.runConfig), Image: s.fromScratch ? '' : parent };
    const image = await this.deps.commit.buildStep(id, {
      config, containerConfig: { ...containerConfig, Image: s.fromScratch ? '' : parent }, createdBy: (containerConfig.Cmd ?? []).join(' '),
      author: s.maintainer, recordContainer, labels,
    });
    s.imageId = (await inspectRef(this.deps.core, image.name)).Id;
    s.fromScratch = false;
  }

  /** A metadata step: the config changed, committed with its `#(nop)` comment. */
  async commitComment(s: DispatchState, comment: string): Promise<void> {
    const cc = { ...copyConfig(s.runConfig), Cmd: [...shellOf(s.runConfig), '#(nop) ', comment] };
    await this.containerStep(s, cc, { announced: true });
  }

  // ---- the instructions ----

  async dispatch(s: DispatchState, step: Step): Promise<void> {
    const ins = step.ins;
    const rc = s.runConfig;
    switch (ins.kind) {
      case 'env': case 'label': {
        const env = this.expansionEnv(s);
        const pairs = ins.words.map((w) => {
          const kv = processWord(w, env, this.escape);
          const i = kv.indexOf('=');
          return [kv.slice(0, i), kv.slice(i + 1)] as const;
        });
        if (ins.kind === 'env') {
          const list = [...(rc.Env ?? [])];
          for (const [k, v] of pairs) {
            const at = list.findIndex((e) => e.split('=')[0] === k);
            if (at >= 0) list[at] = `${k}=${v}`; else list.push(`${k}=${v}`);
          }
          rc.Env = list;
        } else rc.Labels = { ...(rc.Labels ?? {}), ...Object.fromEntries(pairs) };
        return this.commitComment(s, `${ins.kind.toUpperCase()} ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'arg': return this.arg(s, ins);
      case 'expose': {
        const env = this.expansionEnv(s);
        const ports = ins.words.flatMap((w) => processWords(w, env, this.escape));
        rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}) };
        for (const p of ports) for (const key of portKeys(p)) rc.ExposedPorts[key] = {};
        return this.commitComment(s, `EXPOSE ${ports.join(' ')}`);
      }
      case 'user':
        rc.User = this.word(s, ins.text);
        return this.commitComment(s, `USER ${rc.User}`);
      case 'stopsignal':
        rc.StopSignal = this.word(s, ins.text);
        return this.commitComment(s, `STOPSIGNAL ${rc.StopSignal}`);
      case 'maintainer':
        s.maintainer = ins.text;
        return this.commitComment(s, `MAINTAINER ${ins.text}`);
      case 'volume': {
        const env = this.expansionEnv(s);
        const vols = ins.exec ? ins.exec.map((v) => processWord(v, env, this.escape)) : processWords(ins.text, env, this.escape);
        rc.Volumes = { ...(rc.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
          rc.Volumes[v] = {};
        }
        return this.commitComment(s, `VOLUME ${goList(vols)}`);
      }
      case 'cmd': {
        rc.Cmd = 'exec' in ins.command ? ins.command.exec : [...shellOf(rc), ins.command.shell];
        s.cmdSet = true;
        return this.commitComment(s, `CMD ${goQuoteList(rc.Cmd)}`);
      }
      case 'entrypoint': {
        const c = ins.command;
        rc.Entrypoint = 'exec' in c ? c.exec : c.shell === '' ? null : [...shellOf(rc), c.shell];
        // an ENTRYPOINT drops the CMD it inherited, unless this stage set one
        if (!s.cmdSet) rc.Cmd = null;
        return this.commitComment(s, `ENTRYPOINT ${goQuoteList(rc.Entrypoint ?? [])}`);
      }
      case 'shell':
        rc.Shell = ins.shell;
        return this.commitComment(s, `SHELL ${goList(ins.shell)}`);
      case 'healthcheck': {
        const spec = ins.spec === 'none' ? { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, retries: 0 } : ins.spec;
        rc.Healthcheck = healthcheckConfig(ins.spec);
        return this.commitComment(s, `HEALTHCHECK &{${goQuoteList(spec.test)} "${goDuration(spec.interval)}" "${goDuration(spec.timeout)}" "${goDuration(spec.startPeriod)}" ${goRune(spec.retries)}}`);
      }
      case 'onbuild':
        rc.OnBuild = [...(rc.OnBuild ?? []), ins.expression];
        return this.commitComment(s, `ONBUILD ${ins.expression}`);
      case 'workdir': return this.workdir(s, ins.text);
      case 'run': return this.run(s, ins);
      case 'copy': case 'add':
        return copyStep(this, s, ins);
      case 'from':
        throw invalidArgument('FROM inside a stage');
    }
  }

  private arg(s: DispatchState, ins: Extract<Instruction, { kind: 'arg' }>): Promise<void> {
    const words: string[] = [];
    for (const a of ins.args) {
      let value = a.value === undefined ? undefined : this.word(s, a.value);
      if (value === undefined && s.metaArgs.has(a.name)) value = s.metaArgs.get(a.name);
      s.buildArgs.declare(a.name, value);
      words.push(a.value === undefined ? a.name : `${a.name}=${value}`);
    }
    return this.commitComment(s, `ARG ${words.join(' ')}`);
  }

  private async workdir(s: DispatchState, text: string): Promise<void> {
    const rc = s.runConfig;
    const path = this.word(s, text);
    rc.WorkingDir = posix.normalize(path.startsWith('/') ? path : posix.join(rc.WorkingDir || '/', path)).replace(/(.)\/+$/, '$1');
    const cc = { ...copyConfig(rc), Cmd: [...shellOf(rc), `#(nop) WORKDIR ${rc.WorkingDir}`] };
    const dir = rc.WorkingDir;
    await this.containerStep(s, cc, { announced: true, work: async (id) => this.makeDirs(id, dir, { uid: 0, gid: 0 }) });
  }

  /** Creates dir and its missing parents in a container (0755, owner). */
  async makeDirs(id: string, dir: string, owner: { uid: number; gid: number }): Promise<void> {
    const missing = await this.missingDirs(id, dir);
    if (missing.length === 0) return;
    await this.deps.streams.putArchive(id, '/', copyTar([], { dest: dir, destIsDir: true, missingDirs: missing, owner, unpackArchives: false }), { noOverwriteDirNonDir: false, copyUIDGID: true });
  }

  /** The directories of path (itself included) a container lacks, outermost first. */
  async missingDirs(id: string, path: string): Promise<string[]> {
    const parts = path.split('/').filter(Boolean);
    const out: string[] = [];
    let at = '';
    for (const p of parts) {
      at = `${at}/${p}`;
      if (out.length > 0) { out.push(at); continue; }
      const exists = await this.deps.streams.statPath(id, at).then(() => true, (err: unknown) => {
        if (err instanceof BerthError && err.kind === 'not-found') return false;
        throw err;
      });
      if (!exists) out.push(at);
    }
    return out;
  }

  private async run(s: DispatchState, ins: Extract<Instruction, { kind: 'run' }>): Promise<void> {
    const rc = s.runConfig;
    const cmd = 'exec' in ins.command ? ins.command.exec : [...shellOf(rc), ins.command.shell];
    const args = s.buildArgs.filterAllowed(rc.Env ?? []);
    let saveCmd = cmd;
    if (args.length > 0) {
      const counted = args.filter(([k]) => s.buildArgs.counts(k)).map(([k, v]) => `${k}=${v}`).sort();
      saveCmd = [`|${counted.length}`, ...counted, ...cmd];
    }
    const probe: RunConfig = { ...copyConfig(rc), Cmd: saveCmd, Entrypoint: null };
    const createConfig: RunConfig = { ...copyConfig(rc), Cmd: cmd, Entrypoint: [''], Env: [...(rc.Env ?? []), ...args.map(([k, v]) => `${k}=${v}`)], Healthcheck: { Test: ['NONE'] } };
    await this.containerStep(s, probe, { announced: true, createConfig, work: (id) => this.runContainer(id, cmd) });
  }

  /** Starts a RUN's container, streams its output, fails the build on a non-zero exit. */
  private async runContainer(id: string, cmd: string[]): Promise<void> {
    const attached = await this.deps.streams.attach(id, { stream: true, stdin: false, stdout: true, stderr: true, logs: false }, this.signal);
    const kill = (): void => { void this.deps.containers.kill(id, 'SIGKILL').catch(() => undefined); };
    this.signal.addEventListener('abort', kill, { once: true });
    try {
      // a client gone before the listener was set: the container is never started
      if (this.signal.aborted) throw new BerthError('unavailable', 'the build was cancelled: the client went away');
      await this.deps.containers.start(id);
      for await (const chunk of attached.session) {
        const text = chunk.data.toString('utf8');
        if (chunk.stream === 'stderr') await this.out.stderr(text); else await this.out.text(text);
      }
      const { StatusCode } = await this.deps.containers.wait(id, 'not-running', this.signal);
      if (this.signal.aborted) throw new BerthError('unavailable', 'the build was cancelled: the client went away');
      if (StatusCode !== 0) throw new StepFailure(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`, StatusCode);
    } finally {
      this.signal.removeEventListener('abort', kill);
      attached.session.close();
    }
  }
}

/** The ExposedPorts keys of one EXPOSE word: 80, 80/udp, 8000-8002/tcp. */
export function portKeys(word: string): string[] {
  const m = /^([0-9]+)(?:-([0-9]+))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
  if (!m) throw invalidArgument(`Invalid containerPort: ${word}`);
  const first = Number(m[1]);
  const last = m[2] !== undefined ? Number(m[2]) : first;
  if (first < 1 || last > 65535 || last < first) throw invalidArgument(`Invalid containerPort: ${word}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = first; p <= last; p++) out.push(`${p}/${proto}`);
  return out;
}
