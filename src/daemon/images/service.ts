/**
 * The images backend of the Engine API on the core's image service (in the
 * engine's namespace): Docker's names, IDs and messages over the core's
 * pull, push, tag, remove, save, load and import.
 */
import { Readable } from 'node:stream';
import { failedPrecondition, invalidArgument, notFound, wrap } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { Container, PullProgress, PushProgress } from '../../core/api/types.js';
import type {
  Filters, ImageDeleteItem, ImageListArgs, ImagesBackend, ImportArgs, ProgressSink, PullArgs, RegistryAuth,
} from '../../api/index.js';
import type { EventBus } from '../events.js';
import type { CredentialMemory } from './auth.js';
import { allImages, containersUsing, findImage, inspectRef, tagsOf, type ImageView } from './catalog.js';
import { layerUse, releasedSize, sharedSize } from './layer-use.js';
import { imageMatches, matchingTags, summary } from './list.js';
import { ancestors, isIntermediate, nameHistoryRows, parentIds, parentOf } from './parents.js';
import { PullTranslator, PushTranslator } from './pull-progress.js';
import { loadHidesDigest, markNoRepoDigest, registryDigests } from './repo-digests.js';
import { status } from './progress.js';
import { familiarOf, familiarRepo, formatFamiliar, formatFull, fullRepo, parseRef, shortId, withDefaultTag, type ImageRef } from './reference.js';

export interface ImageServiceDeps {
  core: CoreClient;
  events: EventBus;
  credentials: CredentialMemory;
  log: Logger;
}

/** Writes messages in order from a synchronous callback; the first failed write stops the rest. */
class OrderedSink {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly out: ProgressSink) {}
  push(m: Record<string, unknown>): void { this.chain = this.chain.then(() => this.out(m)); }
  flush(): Promise<void> { return this.chain; }
}

/** fromImage + tag as one reference; a tag that is a digest makes a digest reference. */
export function pullRef(image: string, tag: string): ImageRef {
  const ref = parseRef(image);
  if (tag === '') return withDefaultTag(ref);
  if (tag.includes(':')) return parseRef(`${formatFull({ ...ref, tag: undefined, digest: undefined })}@${tag}`);
  return parseRef(`${formatFull({ ...ref, tag: undefined, digest: undefined })}:${tag}`);
}

export class DaemonImages implements ImagesBackend {
  constructor(private readonly deps: ImageServiceDeps) {}

  private get core(): CoreClient { return this.deps.core; }

  private credentials(ref: ImageRef, given: RegistryAuth | undefined): { username: string; password: string } {
    return this.deps.credentials.forHost(ref.domain, given) ?? { username: '', password: '' };
  }

  private async containers(): Promise<Container[]> {
    return (await this.core.containers.List({ filters: [] })).containers;
  }

  private publish(action: string, id: string, name: string): void {
    this.deps.events.publish('image', action, { ID: id, Attributes: { name } });
  }

  async pull(args: PullArgs, out: ProgressSink): Promise<void> {
    const ref = pullRef(args.image, args.tag);
    const full = formatFull(ref);
    const before = await this.core.images.Get({ name: full }).then((r) => r.image?.target?.digest).catch(() => undefined);
    const sink = new OrderedSink(out);
    sink.push(status(`Pulling from ${ref.path}`, ref.tag ?? ref.digest!));
    const t = new PullTranslator();
    // a name already held shows its layers only once something is fetched: an up-to-date pull prints none, as dockerd
    const held: Record<string, unknown>[] | undefined = before !== undefined ? [] : undefined;
    let quiet = held !== undefined;
    const emit = (m: Record<string, unknown>): void => {
      if (quiet && (m.status === 'Pulling fs layer' || m.status === 'Already exists')) { held!.push(m); return; }
      if (quiet) { quiet = false; for (const h of held!) sink.push(h); }
      sink.push(m);
    };
    let image;
    try {
      image = await this.core.pull({ ref: full, platform: args.platform, unpack: true, ...this.credentials(ref, args.auth) },
        (p: PullProgress) => { for (const m of t.translate(p)) emit(m); });
    } finally {
      await sink.flush();
    }
    const digest = image.target?.digest ?? '';
    if (quiet && before !== digest) for (const h of held!) await out(h);
    const shown = formatFamiliar(ref);
    await out(status(`Digest: ${digest}`));
    await out(status(before === digest ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}`));
    this.publish('pull', shown, familiarRepo(ref));
  }

  async importImage(args: ImportArgs, out: ProgressSink): Promise<void> {
    let name = '';
    if (args.repo !== '') {
      const ref = parseRef(args.repo);
      name = formatFull(args.tag !== '' ? { ...ref, tag: args.tag } : withDefaultTag(ref));
    }
    const source = args.src === '-' ? args.body : await fetchSource(args.src);
    const image = await this.core.importImage(source, { name, changes: args.changes, message: args.message });
    // never in a registry: no RepoDigest until a push (dockerd shows [] and `<none>`)
    await markNoRepoDigest(this.core, image, true);
    const doc = await inspectRef(this.core, image.name);
    await out({ status: doc.Id });
    this.publish('import', doc.Id, familiarOf(image.name) ?? doc.Id);
  }

  async list(args: ImageListArgs): Promise<Record<string, unknown>[]> {
    args.filters.validate(['dangling', 'label', 'before', 'since', 'reference', 'until']);
    const views = await allImages(this.core);
    const containers = await this.containers();
    const refTime = async (text: string): Promise<number> => Date.parse((await findImage(this.core, text)).view.doc.Created);
    const before = args.filters.has('before') ? await refTime(args.filters.get('before')[0]!) : undefined;
    const since = args.filters.has('since') ? await refTime(args.filters.get('since')[0]!) : undefined;
    // intermediate images of builds show only with -a (and are never dangling), as dockerd's
    const parents = parentIds(views);
    const shownViews = views.filter((v) => !isIntermediate(v, parents) || (args.all && !args.filters.has('dangling')));
    const listed = shownViews
      .filter((v) => imageMatches(v, args.filters, { before, since }))
      .sort((a, b) => Date.parse(b.doc.Created) - Date.parse(a.doc.Created));
    // as dockerd 20.10: a layer is shared when another image of this list has it
    const use = args.sharedSize ? layerUse(listed) : undefined;
    return listed.map((v) => ({
      ...summary(v, containersUsing(v, containers).length, args.sharedSize, matchingTags(v, args.filters), args.filters, use && sharedSize(v, use)),
      ParentId: parentOf(v),
    }));
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const { view } = await findImage(this.core, name);
    const doc = await inspectRef(this.core, view.id);
    return { ...doc, RepoTags: tagsOf(view).length > 0 ? doc.RepoTags : [], RepoDigests: registryDigests(doc.RepoDigests ?? [], view.records), Parent: parentOf(view) };
  }

  async history(name: string): Promise<Record<string, unknown>[]> {
    const { view } = await findImage(this.core, name);
    const rowsOf = async (id: string): Promise<Record<string, unknown>[]> => JSON.parse((await this.core.images.History({ ref: id })).json.toString('utf8')) as Record<string, unknown>[];
    const rows = await rowsOf(view.id);
    // the ancestors a build left here are named in their rows, as dockerd's history names them
    return parentOf(view) === '' ? rows : nameHistoryRows(rows, view, await allImages(this.core), async (id) => (await rowsOf(id)).length);
  }

  async tag(source: string, repo: string, tag: string): Promise<void> {
    const { view } = await findImage(this.core, source);
    const ref = parseRef(repo);
    if (ref.digest !== undefined) throw invalidArgument(`refusing to create a tag with a digest reference: ${repo}`);
    const target = tag !== '' ? { ...ref, tag } : withDefaultTag(ref);
    const full = formatFull(parseRef(formatFull(target))); // validates the tag
    await this.core.images.Tag({ source: view.id, target: full });
    this.publish('tag', view.id, formatFamiliar(target));
  }

  async remove(name: string, force: boolean, noprune = false): Promise<ImageDeleteItem[]> {
    const { view, byId, record } = await findImage(this.core, name);
    const sid = shortId(view.id);
    if (!byId && record && view.records.length > 1) {
      await this.core.images.Delete({ name: record.name });
      const shown = familiarOf(record.name) ?? record.name;
      this.publish('untag', view.id, shown);
      return [{ Untagged: shown }];
    }
    const users = containersUsing(view, await this.containers());
    if (users.length > 0) await this.refuseInUse(view, name, byId, force, users);
    if (byId && view.records.length > 1 && !force) {
      throw failedPrecondition(`conflict: unable to delete ${sid} (must be forced) - image is referenced in multiple repositories`);
    }
    const untagged = view.records.flatMap((r) => {
      const shown = familiarOf(r.name);
      return shown === undefined ? [] : [shown];
    });
    const digests = (view.doc.RepoDigests ?? []).filter((d) => !untagged.includes(d));
    await this.core.images.Remove({ ref: view.id, force: true });
    for (const u of untagged) this.publish('untag', view.id, u);
    this.publish('delete', view.id, untagged[0] ?? view.id);
    const pruned = noprune ? [] : await this.removeAncestors(view);
    return [...untagged.map((u) => ({ Untagged: u })), ...digests.map((d) => ({ Untagged: d })), { Deleted: view.id }, ...pruned];
  }

  /** dockerd's prune of a removed image's parents: each untagged one no other image or container uses goes too. */
  private async removeAncestors(view: ImageView): Promise<ImageDeleteItem[]> {
    const out: ImageDeleteItem[] = [];
    let views = await allImages(this.core);
    const containers = await this.containers();
    for (const p of ancestors(view, [...views, view])) {
      if (tagsOf(p).length > 0 || parentIds(views).has(p.id) || containersUsing(p, containers).length > 0) break;
      await this.core.images.Remove({ ref: p.id, force: true });
      this.publish('delete', p.id, p.id);
      out.push({ Deleted: p.id });
      views = views.filter((v) => v.id !== p.id);
    }
    return out;
  }

  /** Docker's 409s for an image a container uses (force overrides them for stopped containers). */
  private async refuseInUse(view: ImageView, name: string, byId: boolean, force: boolean, users: Container[]): Promise<void> {
    const { tasks } = await this.core.tasks.List({ filters: [] });
    const running = new Set(tasks.filter((t) => t.execId === '' && (t.status === 'RUNNING' || t.status === 'PAUSED')).map((t) => t.containerId));
    const live = users.find((c) => running.has(c.id));
    const sid = shortId(view.id);
    if (live && byId) throw failedPrecondition(`conflict: unable to delete ${sid} (cannot be forced) - image is being used by running container ${shortId(live.id)}`);
    if (force) return;
    const c = users[0]!;
    if (byId) throw failedPrecondition(`conflict: unable to delete ${sid} (must be forced) - image is being used by ${running.has(c.id) ? 'running' : 'stopped'} container ${shortId(c.id)}`);
    throw failedPrecondition(`conflict: unable to remove repository reference "${name}" (must force) - container ${shortId(c.id)} is using its referenced image ${sid}`);
  }

  async push(name: string, tag: string, auth: RegistryAuth | undefined, out: ProgressSink): Promise<void> {
    const base = parseRef(name);
    const ref = tag !== '' ? { ...base, tag } : withDefaultTag(base);
    const full = formatFull(ref);
    const local = await this.core.images.Get({ name: full }).catch(() => { throw notFound(`An image does not exist locally with the tag: ${familiarRepo(ref)}`); });
    const target = local.image!.target!;
    await out(status(`The push refers to repository [${fullRepo(ref)}]`));
    const sink = new OrderedSink(out);
    const t = new PushTranslator();
    try {
      await this.core.push({ name: full, ref: full, ...this.credentials(ref, auth) }, (p: PushProgress) => { for (const m of t.translate(p)) sink.push(m); });
    } finally {
      await sink.flush();
    }
    // the registry now serves this name's manifest: its RepoDigest is real
    await markNoRepoDigest(this.core, local.image!, false);
    const shownTag = ref.tag ?? ref.digest!;
    await out(status(`${shownTag}: digest: ${target.digest} size: ${target.size}`));
    await out({ progressDetail: {}, aux: { Tag: shownTag, Digest: target.digest, Size: Number(target.size) } });
    this.publish('push', formatFamiliar(ref), familiarRepo(ref));
  }

  async save(names: string[]): Promise<NodeJS.ReadableStream> {
    if (names.length === 0) throw invalidArgument('cannot save images: no image named');
    const refs: string[] = [];
    for (const n of names) {
      const { view, byId, record } = await findImage(this.core, n);
      refs.push(byId || !record ? view.id : record.name);
    }
    const tar = this.core.save({ names: refs });
    // a refusal arrives as the stream's first event: wait for it so it becomes an HTTP status
    const first = await new Promise<Buffer | null>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('readable', () => resolve(tar.read() as Buffer | null));
      tar.once('end', () => resolve(null));
    }).catch((err: unknown) => { throw wrap(`cannot save ${names.join(', ')}`, err); });
    for (const v of names) this.publish('save', v, v);
    const rest = tar as AsyncIterable<Buffer>;
    return Readable.from((async function* () { if (first) yield first; yield* rest; })());
  }

  async load(body: AsyncIterable<Buffer>): Promise<{ tags: string[]; ids: string[] }> {
    const held = new Map((await this.core.images.List({ filters: [] })).images.map((r) => [r.name, r]));
    const images = await this.core.load(body);
    const tags: string[] = [];
    const ids: string[] = [];
    for (const i of images) {
      // an archive is not a registry: what it names has no RepoDigest (dockerd shows [] and `<none>`)
      await markNoRepoDigest(this.core, i, loadHidesDigest(held.get(i.name), i));
      const shown = familiarOf(i.name);
      if (shown !== undefined) tags.push(shown); else ids.push(i.name);
      this.publish('load', shown ?? i.name, shown ?? i.name);
    }
    return { tags, ids };
  }

  async prune(filters: Filters): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }> {
    filters.validate(['dangling', 'label', 'label!', 'until']);
    const danglingOnly = !filters.has('dangling') || filters.get('dangling').some((v) => ['true', '1'].includes(v));
    const containers = await this.containers();
    const deleted: ImageDeleteItem[] = [];
    const views = await allImages(this.core);
    const parents = parentIds(views);
    for (const v of views) {
      if (danglingOnly && (tagsOf(v).length > 0 || isIntermediate(v, parents))) continue;
      if (!imageMatches(v, filters, {}, ['dangling'])) continue;
      if (containersUsing(v, containers).length > 0) continue;
      deleted.push(...await this.remove(v.id, true).catch(() => []));
    }
    // as dockerd: the unpacked size of the layers no remaining image holds (a shared base reclaims nothing)
    const space = deleted.length > 0 ? releasedSize(views, await allImages(this.core)) : 0;
    this.deps.events.publish('image', 'prune', { ID: '', Attributes: { reclaimed: String(space) } });
    return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: space };
  }

  /** Image counts and sizes for /info and /system/df. */
  async usage(): Promise<{ views: ImageView[]; containers: Container[] }> {
    return { views: await allImages(this.core), containers: await this.containers() };
  }
}

async function fetchSource(url: string): Promise<AsyncIterable<Buffer>> {
  let u: URL;
  try { u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`); } catch { throw invalidArgument(`invalid import source ${url}`); }
  const res = await fetch(u).catch((err: unknown) => { throw wrap(`cannot fetch ${url}`, err); });
  if (!res.ok || res.body === null) throw invalidArgument(`cannot fetch ${url}: ${res.status} ${res.statusText}`);
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) as AsyncIterable<Buffer>;
}
