/** The Snapshots service: every snapshotter over the API ("" names the core's default). */
import { invalidArgument } from '../../common/errors.js';
import type { MountMessage, SnapshotInfoMessage } from '../api/types.js';
import { toTimestamp } from '../api/types.js';
import type { Mount, SnapshotInfo } from '../snapshots/types.js';
import type { UnaryHandlers } from './context.js';
import { snapshotterOf, type ImageContext } from './images.js';

const mountMessage = (m: Mount): MountMessage => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options });
const mounts = (ms: Mount[]): { mounts: MountMessage[] } => ({ mounts: ms.map(mountMessage) });

export const snapshotInfoMessage = (i: SnapshotInfo): SnapshotInfoMessage => ({
  name: i.key, parent: i.parent, kind: i.kind, labels: i.labels, createdAt: toTimestamp(i.createdAt), updatedAt: toTimestamp(i.updatedAt),
});

const need = (v: string, what: string, field: string): string => {
  if (v === '') throw invalidArgument(`cannot ${what} snapshot: ${field} is empty`);
  return v;
};

export function snapshotsService(ic: ImageContext): UnaryHandlers<'Snapshots'> {
  const sn = (name: string) => snapshotterOf(ic, name ?? '');
  return {
    Prepare: async (req, call) => mounts(await sn(req.snapshotter).prepare(call.namespace, need(req.key, 'prepare', 'key'), req.parent, req.labels ?? {})),
    View: async (req, call) => mounts(await sn(req.snapshotter).view(call.namespace, need(req.key, 'view', 'key'), req.parent, req.labels ?? {})),
    Mounts: (req, call) => mounts(sn(req.snapshotter).mounts(call.namespace, req.key)),
    Commit: async (req, call) => {
      await sn(req.snapshotter).commit(call.namespace, need(req.name, 'commit', 'name'), need(req.key, 'commit', 'key'), req.labels ?? {});
      return {};
    },
    Remove: async (req, call) => { await sn(req.snapshotter).remove(call.namespace, req.key); return {}; },
    Stat: (req, call) => ({ info: snapshotInfoMessage(sn(req.snapshotter).stat(call.namespace, req.key)) }),
    Update: (req, call) => {
      if (!req.info) throw invalidArgument('cannot update snapshot: the request has no info');
      return { info: snapshotInfoMessage(sn(req.snapshotter).update(call.namespace, req.info.name, req.info.labels ?? {}, req.updateMask ?? [])) };
    },
    List: (req, call) => ({ info: sn(req.snapshotter).list(call.namespace, req.filters ?? []).map(snapshotInfoMessage) }),
    Usage: async (req, call) => {
      const u = await sn(req.snapshotter).usage(call.namespace, req.key);
      return { size: String(u.size), inodes: String(u.inodes) };
    },
  };
}
