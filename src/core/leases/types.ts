/**
 * Leases: a client holds one while it writes content or prepares snapshots
 * that nothing references yet (a pull in progress), so garbage collection
 * leaves them alone. A lease ends when deleted or when `expires_at` passes.
 */

export interface Lease {
  id: string;
  labels: Record<string, string>;
  createdAt: number;
  /** ms since the epoch; 0 = never */
  expiresAt: number;
}

/** `content` (a digest), `ingests` (a ref), `snapshots/<snapshotter>` (a key) */
export interface LeaseResource {
  type: string;
  id: string;
}

export interface LeaseManager {
  create(namespace: string, id: string | undefined, labels?: Record<string, string>, expiresAt?: number): Lease;
  get(namespace: string, id: string): Lease;
  list(namespace: string, filters?: string[]): Lease[];
  delete(namespace: string, id: string): void;
  addResource(namespace: string, leaseId: string, resource: LeaseResource): void;
  deleteResource(namespace: string, leaseId: string, resource: LeaseResource): void;
  listResources(namespace: string, leaseId: string): LeaseResource[];
}
