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
  // 2: tasks, one row per container with a shim; enough to find the shim again after a restart
  `CREATE TABLE tasks (
     namespace TEXT NOT NULL,
     id TEXT NOT NULL,
     status TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     shim_pid INTEGER NOT NULL DEFAULT 0,
     socket TEXT NOT NULL,
     bundle TEXT NOT NULL,
     shim_state TEXT NOT NULL,
     runtime_path TEXT NOT NULL,
     runtime_args TEXT NOT NULL DEFAULT '[]',
     log TEXT NOT NULL,
     terminal INTEGER NOT NULL DEFAULT 0,
     exit_status INTEGER NOT NULL DEFAULT 0,
     exited_at TEXT NOT NULL DEFAULT '0',
     reason TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, id)
   );`,
  // 3: exec processes, so a restarted core still knows running and finished execs
  `CREATE TABLE execs (
     namespace TEXT NOT NULL,
     task_id TEXT NOT NULL,
     exec_id TEXT NOT NULL,
     process TEXT NOT NULL,
     terminal INTEGER NOT NULL DEFAULT 0,
     log TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     status TEXT NOT NULL,
     exit_status INTEGER NOT NULL DEFAULT 0,
     exited_at TEXT NOT NULL DEFAULT '0',
     reason TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, task_id, exec_id)
   );`,
  // 4: whether a process's stdin is a pipe the shim holds (fed through Attach)
  `ALTER TABLE tasks ADD COLUMN stdin INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE execs ADD COLUMN stdin INTEGER NOT NULL DEFAULT 0;`,
  // 5: the image half: content (blobs are shared on disk, their metadata is
  // per namespace), ingests in progress, leases and the resources they hold,
  // snapshots (one table for every snapshotter; `backing_id` names the
  // snapshotter's directory), images (a name and its target descriptor), and
  // the snapshotter of a container's snapshot_key
  `CREATE TABLE content (
     namespace TEXT NOT NULL,
     digest TEXT NOT NULL,
     size INTEGER NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, digest)
   );
   CREATE TABLE ingests (
     namespace TEXT NOT NULL,
     ref TEXT NOT NULL,
     expected TEXT NOT NULL DEFAULT '',
     total INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, ref)
   );
   CREATE TABLE leases (
     namespace TEXT NOT NULL,
     id TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (namespace, id)
   );
   CREATE TABLE lease_resources (
     namespace TEXT NOT NULL,
     lease_id TEXT NOT NULL,
     type TEXT NOT NULL,
     resource_id TEXT NOT NULL,
     PRIMARY KEY (namespace, lease_id, type, resource_id)
   );
   CREATE TABLE snapshots (
     namespace TEXT NOT NULL,
     snapshotter TEXT NOT NULL,
     key TEXT NOT NULL,
     backing_id TEXT NOT NULL,
     parent TEXT NOT NULL DEFAULT '',
     kind TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     size INTEGER NOT NULL DEFAULT 0,
     inodes INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, snapshotter, key)
   );
   CREATE INDEX snapshots_parent ON snapshots (namespace, snapshotter, parent);
   CREATE TABLE images (
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     target_media_type TEXT NOT NULL,
     target_digest TEXT NOT NULL,
     target_size INTEGER NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name)
   );
   CREATE INDEX images_target ON images (namespace, target_digest);
   ALTER TABLE containers ADD COLUMN snapshotter TEXT NOT NULL DEFAULT '';`,
  // 6: a task killed by the OOM killer says so (read from its memory cgroup before the cgroup goes)
  `ALTER TABLE tasks ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0;`,
  // 7: each layer's unpacked size as dockerd counts it (images/layer-sizes.ts), measured when it
  // is unpacked; keyed by diff ID, since it is a property of the uncompressed bytes alone, the
  // same in every namespace and for every compressed form of the layer
  `CREATE TABLE layer_sizes (
     diff_id TEXT PRIMARY KEY,
     unpacked_size INTEGER NOT NULL,
     measured_at INTEGER NOT NULL
   );`,
];
