/**
 * Leases in table `leases`, the resources they hold in `lease_resources`.
 * A lease whose `expires_at` has passed counts as gone everywhere (get,
 * list, adding resources, garbage collection) even before the collector
 * deletes its rows; creating a lease with the id of an expired one
 * replaces it.
 */
import { randomBytes } from 'node:crypto';
import { alreadyExists, invalidArgument, notFound } from '../../common/errors.js';
import { checkDigest } from '../content/digest.js';
import { fieldReader, matchesAny, parseFilters } from '../content/filters.js';
import { checkLabels } from '../content/labels.js';
import type { Db } from '../metadata/db.js';
import { decodeLabels, encodeLabels } from '../metadata/labels.js';
import type { Lease, LeaseManager, LeaseResource } from './types.js';

interface LeaseRow { id: string; labels: string; created_at: number; expires_at: number }

const FILTER_FIELDS = ['id'] as const;

export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

function toLease(r: LeaseRow): Lease {
  return { id: r.id, labels: decodeLabels(r.labels), createdAt: r.created_at, expiresAt: r.expires_at };
}

function checkLeaseId(id: string): string {
  if (id === '' || id.length > 256 || /[\0-\x1f]/.test(id)) {
    throw invalidArgument(`invalid lease id ${JSON.stringify(id.slice(0, 64))}: use 1-256 printable characters`);
  }
  return id;
}

/** A resource's type and id, checked: the collector trusts them. */
export function checkResource(r: LeaseResource): LeaseResource {
  if (r.type === 'content') return { type: r.type, id: checkDigest(r.id) };
  const ok = r.type === 'ingests' || (r.type.startsWith('snapshots/') && r.type.length > 'snapshots/'.length);
  if (!ok) throw invalidArgument(`invalid lease resource type ${JSON.stringify(r.type)}: use content, ingests or snapshots/<snapshotter>`);
  if (r.id === '') throw invalidArgument(`invalid lease resource of type ${r.type}: empty id`);
  return { type: r.type, id: r.id };
}

function newLeaseId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

export function openLeaseManager(db: Db): LeaseManager {
  const st = {
    get: db.prepare('SELECT id, labels, created_at, expires_at FROM leases WHERE namespace = ? AND id = ?'),
    list: db.prepare('SELECT id, labels, created_at, expires_at FROM leases WHERE namespace = ? ORDER BY created_at, id'),
    insert: db.prepare('INSERT INTO leases (namespace, id, labels, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    remove: db.prepare('DELETE FROM leases WHERE namespace = ? AND id = ?'),
    removeResources: db.prepare('DELETE FROM lease_resources WHERE namespace = ? AND lease_id = ?'),
    addResource: db.prepare('INSERT OR IGNORE INTO lease_resources (namespace, lease_id, type, resource_id) VALUES (?, ?, ?, ?)'),
    deleteResource: db.prepare('DELETE FROM lease_resources WHERE namespace = ? AND lease_id = ? AND type = ? AND resource_id = ?'),
    listResources: db.prepare('SELECT type, resource_id AS id FROM lease_resources WHERE namespace = ? AND lease_id = ? ORDER BY type, resource_id'),
  };

  const drop = (namespace: string, id: string): void => {
    st.removeResources.run(namespace, id);
    st.remove.run(namespace, id);
  };

  /** The live lease, or not-found (an expired one is dropped on the way). */
  const live = (namespace: string, id: string): Lease => {
    const r = st.get.get(namespace, checkLeaseId(id)) as LeaseRow | undefined;
    if (!r || isExpired(r.expires_at, Date.now())) throw notFound(`lease ${id} not found in namespace ${namespace}`);
    return toLease(r);
  };

  return {
    create: (namespace, id, labels = {}, expiresAt = 0) => db.transaction((): Lease => {
      const leaseId = checkLeaseId(id ?? newLeaseId());
      checkLabels(labels, `lease ${leaseId}`);
      if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
        throw invalidArgument(`invalid expiry ${expiresAt} for lease ${leaseId}: not a time in ms since the epoch`);
      }
      const now = Date.now();
      const old = st.get.get(namespace, leaseId) as LeaseRow | undefined;
      if (old && !isExpired(old.expires_at, now)) throw alreadyExists(`lease ${leaseId} already exists in namespace ${namespace}`);
      if (old) drop(namespace, leaseId);
      st.insert.run(namespace, leaseId, encodeLabels(labels), now, expiresAt);
      return { id: leaseId, labels: { ...labels }, createdAt: now, expiresAt };
    })(),

    get: live,

    list: (namespace, filters) => {
      const parsed = parseFilters(filters, FILTER_FIELDS, 'lease');
      const now = Date.now();
      return (st.list.all(namespace) as LeaseRow[])
        .filter((r) => !isExpired(r.expires_at, now))
        .map(toLease)
        .filter((l) => matchesAny(fieldReader({ id: l.id }, l.labels), parsed));
    },

    delete: (namespace, id) => db.transaction((): void => {
      const r = st.get.get(namespace, checkLeaseId(id)) as LeaseRow | undefined;
      if (r) drop(namespace, id);
      if (!r || isExpired(r.expires_at, Date.now())) throw notFound(`lease ${id} not found in namespace ${namespace}`);
    })(),

    addResource: (namespace, leaseId, resource) => db.transaction((): void => {
      const r = checkResource(resource);
      live(namespace, leaseId);
      st.addResource.run(namespace, leaseId, r.type, r.id);
    })(),

    deleteResource: (namespace, leaseId, resource) => db.transaction((): void => {
      live(namespace, leaseId);
      st.deleteResource.run(namespace, leaseId, resource.type, resource.id);
    })(),

    listResources: (namespace, leaseId) => {
      live(namespace, leaseId);
      return st.listResources.all(namespace, leaseId) as LeaseResource[];
    },
  };
}
