/**
 * The daemon's schema, as an ordered list: migration i takes the database
 * from version i to i + 1 (PRAGMA user_version). Append only; never edit a
 * migration that has shipped. Containers, names, volumes and the image view
 * add their tables here.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the daemon's own facts (its ID, first start)
  `CREATE TABLE meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT;`,
  // 2: containers (src/daemon/containers/store.ts): the whole record as JSON, the name unique
  `CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     created_ms INTEGER NOT NULL,
     record TEXT NOT NULL
   ) STRICT;`,
  // 3: volumes of the local driver (src/daemon/volumes/store.ts) and which containers use them
  `CREATE TABLE volumes (
     name TEXT PRIMARY KEY,
     driver TEXT NOT NULL,
     labels TEXT NOT NULL,
     options TEXT NOT NULL,
     anonymous INTEGER NOT NULL,
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE volume_refs (
     volume TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
     container TEXT NOT NULL,
     PRIMARY KEY (volume, container)
   ) STRICT;`,
  // 4: networks, endpoints and network sandboxes (src/daemon/network/store.ts)
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     record TEXT NOT NULL
   ) STRICT;
   CREATE TABLE net_endpoints (
     container TEXT NOT NULL,
     network TEXT NOT NULL,
     record TEXT NOT NULL,
     PRIMARY KEY (container, network)
   ) STRICT;
   CREATE TABLE net_sandboxes (
     container TEXT PRIMARY KEY,
     record TEXT NOT NULL
   ) STRICT;`,
  // 5: a container's State.Health (src/daemon/health/), beside its record: probes write it without
  // touching the record the container service saves whole
  `ALTER TABLE containers ADD COLUMN health TEXT;`,
];
