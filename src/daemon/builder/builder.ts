/**
 * One `docker build` with the classic builder's behaviour: the meta ARGs,
 * then each stage up to the target (FROM resolved: an earlier stage, an
 * image here or pulled, or scratch; the base image's ONBUILD triggers run
 * first), each step printed as "Step N/M : …" and followed by the image it
 * made; the last stage's image is the result, tagged with every name.
 */
import { randomBytes } from 'node:crypto';
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { RegistryAuth } from '../../api/index.js';
import { familiarOf, formatFull, parseRef, withDefaultTag } from '../images/reference.js';
import { BuildArgs } from './build-args.js';
import { envMap, processWord } from './expand.js';
import { parseTrigger, type ParsedDockerfile, type Stage, type Step } from './instructions.js';
import type { BuildOutput } from './output.js';
import { dropScratchImage, scratchImage } from './scratch.js';
import { copyConfig, type BuildOptions, type DispatchState, type RunConfig } from './state.js';
import type { StepRunner } from './steps.js';

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** A tag as the new image's full name (dockerd refuses bad ones before building). */
export function tagName(tag: string): string {
  const ref = parseRef(tag);
  if (ref.digest !== undefined) throw invalidArgument(`invalid reference format`);
  return formatFull(withDefaultTag(ref));
}

/** The stages built: up to the target's (all when none). */
export function stagesToBuild(df: ParsedDockerfile, target: string): Stage[] {
  if (target === '') return df.stages;
  const at = df.stages.findIndex((s) => s.name === target.toLowerCase());
  if (at < 0) throw invalidArgument(`failed to reach build target ${target} in Dockerfile`);
  return df.stages.slice(0, at + 1);
}

/** Quoted so that expansion leaves it as it is. */
const literal = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;

function labelOptionSteps(labels: Record<string, string>): Step[] {
  return Object.keys(labels).sort().map((k) => ({
    line: { cmd: 'label', original: `LABEL ${k}=${labels[k]}`, rest: '', flags: new Map<string, string>(), line: 0 },
    ins: { kind: 'label', words: [`${literal(k)}=${literal(labels[k]!)}`] },
  }));
}

export class Build {
  private step = 0;
  private total = 0;
  private scratchName: string | undefined;
  private scratchId: string | undefined;
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly args: BuildArgs;

  constructor(
    private readonly r: StepRunner,
    private readonly opts: BuildOptions,
    private readonly out: BuildOutput,
    private readonly auth: Record<string, RegistryAuth>,
  ) {
    this.args = new BuildArgs(opts.buildArgs);
    r.imageFor = (name) => this.image(name, false);
  }

  private async printStep(s: Step): Promise<void> {
    this.step++;
    await this.out.text(`Step ${this.step}/${this.total} : ${s.line.original}`);
    await this.out.text('\n');
  }

  /** An image by name: the ID of the one here, else pulled (always pulled with `pull`). */
  private async image(name: string, pull: boolean): Promise<string> {
    if (!pull) {
      const found = await this.r.deps.images.inspect(name).then((d) => d.Id as string, (err: unknown) => {
        if (err instanceof BerthError && err.kind === 'not-found') return undefined;
        throw err;
      });
      if (found !== undefined) return found;
    }
    const ref = parseRef(name);
    const auth = this.auth[ref.domain] ?? this.auth[`https://${ref.domain}`] ?? (ref.domain === 'docker.io' ? this.auth['https://index.docker.io/v1/'] : undefined);
    await this.r.deps.images.pull({ image: name, tag: '', platform: this.opts.platform, auth }, (m) => this.out.message(m), this.r.signal);
    return (await this.r.deps.images.inspect(name)).Id as string;
  }

  private async scratch(): Promise<string> {
    if (this.scratchId !== undefined) return this.scratchId;
    this.scratchName = `berthd-build-scratch:${randomBytes(8).toString('hex')}`;
    this.scratchId = await scratchImage(this.r.deps.core, formatFull(parseRef(this.scratchName)));
    return this.scratchId;
  }

  /** FROM: the stage's starting state. */
  private async from(stage: Stage, built: Map<string, { imageId: string; config: RunConfig }>): Promise<DispatchState> {
    const metaEnv = envMap([...this.metaArgs].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`));
    const name = processWord(stage.from.ins.image, metaEnv, this.r.escape);
    if (name === '') throw invalidArgument(`base name (${stage.from.ins.image}) should not be blank`);
    const base: DispatchState = {
      imageId: '', fromScratch: false, runConfig: {}, buildArgs: this.args.forStage(), maintainer: '', cmdSet: false,
      metaArgs: this.metaArgs, stage: stage.index, stageName: stage.name,
    };
    const earlier = built.get(name.toLowerCase());
    if (earlier) return { ...base, imageId: earlier.imageId, runConfig: copyConfig(earlier.config) };
    if (name.toLowerCase() === 'scratch') return { ...base, imageId: await this.scratch(), fromScratch: true };
    const id = await this.image(name, this.opts.pull);
    const doc = await this.r.deps.images.inspect(id);
    return { ...base, imageId: id, runConfig: copyConfig((doc.Config ?? {}) as RunConfig) };
  }

  /** The base image's ONBUILD triggers, run before the stage's own steps. */
  private async triggers(s: DispatchState): Promise<void> {
    const triggers = s.runConfig.OnBuild ?? [];
    if (triggers.length === 0) return;
    s.runConfig.OnBuild = null;
    await this.out.text(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
    for (const t of triggers) await this.runStep(s, parseTrigger(t));
  }

  private async runStep(s: DispatchState, step: Step): Promise<void> {
    let failed = true;
    try {
      await this.r.dispatch(s, step);
      failed = false;
    } finally {
      await this.r.finishStep(failed);
    }
  }

  /** Runs the build; the final image's ID. */
  async run(df: ParsedDockerfile): Promise<string> {
    const tags = this.opts.tags.map(tagName);
    const stages = stagesToBuild(df, this.opts.target);
    // --label: one LABEL step per label (sorted, not expanded) at the end of the Dockerfile's last stage, as dockerd adds them
    const labelSteps = stages.at(-1) === df.stages.at(-1) ? labelOptionSteps(this.opts.labels) : [];
    this.total = df.metaArgs.length + stages.reduce((n, st) => n + 1 + st.steps.length, 0) + labelSteps.length;
    try {
      for (const m of df.metaArgs) {
        await this.printStep(m);
        if (m.ins.kind !== 'arg') continue;
        for (const a of m.ins.args) {
          const metaEnv = envMap([...this.metaArgs].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`));
          const dflt = a.value === undefined ? undefined : processWord(a.value, metaEnv, this.r.escape);
          this.args.referenced.add(a.name);
          this.metaArgs.set(a.name, this.opts.buildArgs.get(a.name) ?? dflt);
        }
      }
      const built = new Map<string, { imageId: string; config: RunConfig }>();
      let last: DispatchState | undefined;
      for (const stage of stages) {
        await this.printStep(stage.from);
        this.r.cacheBusted = false;
        const s = await this.from(stage, built);
        await this.triggers(s);
        await this.out.text(` ---> ${s.fromScratch ? '' : short(s.imageId)}\n`);
        const steps = stage === stages.at(-1) ? [...stage.steps, ...labelSteps] : stage.steps;
        for (const step of steps) {
          await this.printStep(step);
          await this.runStep(s, step);
          await this.out.text(` ---> ${s.fromScratch ? '' : short(s.imageId)}\n`);
        }
        const result = { imageId: s.imageId, config: copyConfig(s.runConfig) };
        built.set(String(stage.index), result);
        if (stage.name !== undefined) built.set(stage.name, result);
        this.r.stageImages.set(String(stage.index), s.imageId);
        if (stage.name !== undefined) this.r.stageImages.set(stage.name, s.imageId);
        last = s;
      }
      if (!last || last.fromScratch) throw invalidArgument('No image was generated. Is your Dockerfile empty?');
      const id = last.imageId;
      await this.out.aux({ ID: id });
      const unused = this.args.unused();
      if (unused.length > 0) await this.out.text(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      await this.out.text(`Successfully built ${short(id)}\n`);
      for (const t of tags) {
        const ref = parseRef(t);
        await this.r.deps.images.tag(id, formatFull({ ...ref, tag: undefined }), ref.tag ?? 'latest');
        await this.out.text(`Successfully tagged ${familiarOf(t) ?? t}\n`);
      }
      // a tagged image is known by its names only (its last untag deletes it, as dockerd's)
      if (tags.length > 0) await this.r.deps.core.images.Delete({ name: id }).catch(() => undefined);
      return id;
    } finally {
      if (this.scratchName !== undefined) await dropScratchImage(this.r.deps.core, formatFull(parseRef(this.scratchName)));
    }
  }
}
