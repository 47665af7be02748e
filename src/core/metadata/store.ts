/** The core's metadata: one SQLite file (`<root>/meta.db`) behind typed stores. */
import type { ContainerStore } from '../containers/store.js';
import type { NamespaceStore } from '../namespaces/store.js';
import type { ExecStore } from '../tasks/execs.js';
import type { TaskStore } from '../tasks/store.js';
import { containerStore } from './containers.js';
import { openDatabase, type Db } from './db.js';
import { execStore } from './execs.js';
import { namespaceStore } from './namespaces.js';
import { taskStore } from './tasks.js';

export interface MetadataStore {
  namespaces: NamespaceStore;
  containers: ContainerStore;
  tasks: TaskStore;
  execs: ExecStore;
  /** the connection itself, for the image half's stores (content, leases, snapshots, images) */
  readonly db: Db;
  /** runs fn in one transaction (nested store writes join it) */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function openMetadataStore(path: string): MetadataStore {
  const db: Db = openDatabase(path);
  return {
    namespaces: namespaceStore(db),
    containers: containerStore(db),
    tasks: taskStore(db),
    execs: execStore(db),
    db,
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    close: () => { if (db.open) db.close(); },
  };
}
