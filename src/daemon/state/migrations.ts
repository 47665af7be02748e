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
];
