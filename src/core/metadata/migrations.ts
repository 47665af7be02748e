/**
 * The metadata schema, as an ordered list of migrations. A database records
 * the last one applied in `schema_version`; opening runs the rest, each in
 * its own transaction. Never edit a shipped migration: add the next one.
 */
export const MIGRATIONS: string[] = [
  // 1: namespaces and containers
  `CREATE TABLE namespaces (
     name TEXT PRIMARY KEY,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE containers (
     namespace TEXT NOT NULL REFERENCES namespaces(name),
     id TEXT NOT NULL,
     image TEXT NOT NULL DEFAULT '',
     spec BLOB NOT NULL,
     runtime_name TEXT NOT NULL,
     runtime_options BLOB NOT NULL,
     rootfs TEXT NOT NULL DEFAULT '',
     snapshot_key TEXT NOT NULL DEFAULT '',
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, id)
   );`,
];
