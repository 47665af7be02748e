/** The daemon's own facts in the `meta` table: its ID (stable across restarts, as dockerd's engine ID). */
import { randomUUID } from 'node:crypto';
import type { StateDb } from './db.js';

export function getMeta(db: StateDb, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: StateDb, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** The daemon's ID: made at the first start, then kept. */
export function daemonId(db: StateDb): string {
  return db.transaction(() => {
    const id = getMeta(db, 'daemon-id');
    if (id !== undefined) return id;
    const fresh = randomUUID();
    setMeta(db, 'daemon-id', fresh);
    return fresh;
  })();
}
