/**
 * docker commit: the container's changes (its overlay upper directory, as a
 * layer tar made here: archive/layer.ts) go to the core's Images.Commit,
 * which stores the layer, unpacks it over the image's snapshot and writes
 * the new image, all under a lease. The container is paused meanwhile when
 * asked (and running), and thawed after whatever happened. Config, changes
 * and the merge with the container's config follow dockerd's commit: the
 * body's config (else the container's), the changes applied, then what they
 * leave empty filled from the container's config.
 */
import { BerthError, failedPrecondition } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { CommitArgs, CommitBackend } from '../../api/index.js';
import { overlayDirs } from '../archive/changes.js';
import { layerTar } from '../archive/layer.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerRecord } from '../containers/types.js';
import { inspectRef } from './catalog.js';
import { familiarOf, formatFull, parseRef, withDefaultTag } from './reference.js';
import { markNoRepoDigest, NO_REPO_DIGEST } from './repo-digests.js';
import type { Image } from '../../core/api/types.js';

/** What a build step commits (builder's own config and history, as dockerd's CommitBuildStep). */
export interface BuildStepCommit {
  config: Record<string, unknown>;
  containerConfig: Record<string, unknown>;
  createdBy: string;
  author: string;
  /** dockerd names the container in the image for steps that ran one (RUN and metadata), not for COPY/ADD */
  recordContainer: boolean;
  labels: Record<string, string>;
}

export interface CommitDeps { core: CoreClient; containers: ContainerService; log: Logger }

/** The new image's full name; "" for none (a dangling image). */
function nameOf(repo: string, tag: string): string {
  if (repo === '') return '';
  const ref = parseRef(repo);
  return formatFull(tag !== '' ? { ...ref, tag } : withDefaultTag(ref));
}

export class DaemonCommit implements CommitBackend {
  constructor(private readonly deps: CommitDeps) {}

  async commit(args: CommitArgs): Promise<string> {
    const svc = this.deps.containers;
    const c = svc.get(args.container);
    if (c.State.Status === 'dead') throw failedPrecondition(`You cannot commit container ${c.ID} which is Dead`);
    if (c.State.Status === 'removing' || c.State.RemovalInProgress) throw failedPrecondition(`You cannot commit container ${c.ID} which is being removed`);
    const name = nameOf(args.repo, args.tag);
    const paused = args.pause && c.State.Status === 'running' ? await this.pause(c) : false;
    try {
      const image = await this.store(c, args, name);
      await markNoRepoDigest(this.deps.core, image, true);
      const id = (await inspectRef(this.deps.core, image.name)).Id;
      // dockerd's order of events: pause, commit, unpause
      svc.publish(svc.get(c.ID), 'commit', { comment: args.comment, imageID: id, imageRef: name === '' ? '' : familiarOf(name) ?? name });
      return id;
    } finally {
      if (paused) await svc.unpause(c.ID).catch((err: unknown) => this.deps.log.warn('cannot unpause the container after its commit', { id: c.ID, error: (err as Error).message }));
    }
  }

  /**
   * One step of a build (dockerd's CommitBuildStep): the config as the
   * builder made it (no merge with the container's), its own created_by and
   * container config, labels set on the new record; no commit event, as
   * dockerd publishes none for build steps. The new image's record.
   */
  async buildStep(containerId: string, step: BuildStepCommit): Promise<Image> {
    const c = this.deps.containers.get(containerId);
    const { mounts } = await this.deps.core.snapshots.Mounts({ snapshotter: c.Snapshotter, key: c.ID });
    const dirs = overlayDirs(mounts);
    if (!dirs) throw failedPrecondition(`cannot commit container ${c.Name.slice(1)}: its snapshot is not an overlay`);
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    const image = await this.deps.core.commitImage(layerTar(dirs.upper, dirs.lowers), {
      parent: c.Image, name: '', config: json(step.config), changes: [], defaults: Buffer.alloc(0), author: step.author, comment: '',
      createdBy: step.createdBy, container: step.recordContainer ? c.ID : '', containerConfig: json(step.containerConfig), snapshotter: c.Snapshotter,
    });
    const labels = { ...image.labels, [NO_REPO_DIGEST]: 'built', ...step.labels };
    const res = await this.deps.core.images.Update({ image: { ...image, labels }, updateMask: Object.keys(labels).map((k) => `labels.${k}`) });
    return res.image ?? image;
  }

  /** Pauses a running container; false when it stopped meanwhile (nothing to thaw). */
  private async pause(c: ContainerRecord): Promise<boolean> {
    try {
      await this.deps.containers.pause(c.ID);
      return true;
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'failed-precondition') return false;
      throw err;
    }
  }

  private async store(c: ContainerRecord, args: CommitArgs, name: string): ReturnType<CoreClient['commitImage']> {
    const { mounts } = await this.deps.core.snapshots.Mounts({ snapshotter: c.Snapshotter, key: c.ID });
    const dirs = overlayDirs(mounts);
    if (!dirs) throw failedPrecondition(`cannot commit container ${c.Name.slice(1)}: its snapshot is not an overlay`);
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    return this.deps.core.commitImage(layerTar(dirs.upper, dirs.lowers), {
      parent: c.Image, name, config: json(args.config ?? c.Config), changes: args.changes, defaults: json(c.Config),
      author: args.author, comment: args.comment, createdBy: (c.Config.Cmd ?? []).join(' '),
      container: c.ID, containerConfig: json(c.Config), snapshotter: c.Snapshotter,
    });
  }
}
