/**
 * The Debian nginx image of the end-to-end tests: a root filesystem made by
 * scripts/nginx-image.sh (`mmdebstrap --variant=minbase --include=nginx-light
 * bookworm`, Debian's own packages), cached under /var/cache/berth-tests/ as
 * a tar named by a hash of the recipe (built once, only when absent, under a
 * lock), imported into a berth-core with a CMD that runs nginx in the
 * foreground.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Image } from '../../src/core/api/types.js';
import type { CoreClient } from '../../src/core/client.js';
import { REPO } from './runtime.js';

export const MMDEBSTRAP = '/usr/bin/mmdebstrap';
export const CACHE_DIR = process.env.BERTH_TEST_CACHE ?? '/var/cache/berth-tests';

/** What the root filesystem is made from (scripts/nginx-image.sh holds the recipe; this names it). */
export const NGINX_RECIPE = { tool: 'mmdebstrap', variant: 'minbase', suite: 'bookworm', include: ['nginx-light'] } as const;
export const NGINX_CHANGES = ['CMD ["nginx","-g","daemon off;"]', 'EXPOSE 80'];

export const nginxSkip: string | false = !existsSync(MMDEBSTRAP) ? `needs ${MMDEBSTRAP}` : false;

/** The cached rootfs tar, built first when absent by scripts/nginx-image.sh (the recipe lives there, shared with the demo). */
export function nginxRootfsTar(): string {
  const r = spawnSync(join(REPO, 'scripts', 'nginx-image.sh'), [], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, BERTH_CACHE: CACHE_DIR } });
  const tar = (r.stdout ?? '').trim();
  if (r.status !== 0 || tar === '' || !existsSync(tar)) throw new Error(`cannot build the nginx rootfs with mmdebstrap (exit ${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  return tar;
}

/** Imports the nginx image into the core as name. */
export function importNginx(client: CoreClient, name: string): Promise<Image> {
  return client.importImage(createReadStream(nginxRootfsTar(), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, {
    name, changes: NGINX_CHANGES, message: `mmdebstrap --variant=${NGINX_RECIPE.variant} --include=${NGINX_RECIPE.include.join(',')} ${NGINX_RECIPE.suite}`,
  });
}
