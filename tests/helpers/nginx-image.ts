/**
 * The Debian nginx image of the end-to-end tests: a root filesystem made by
 * `mmdebstrap --variant=minbase --include=nginx-light bookworm` (Debian's
 * own packages, from the apt sources this machine uses), cached under
 * /var/cache/berth-tests/ as a tar named by a hash of the recipe (built
 * once, only when absent; a lock keeps two test runs from building it at
 * the same time), imported into a berth-core with a CMD that runs nginx in
 * the foreground.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Image } from '../../src/core/api/types.js';
import type { CoreClient } from '../../src/core/client.js';

export const MMDEBSTRAP = '/usr/bin/mmdebstrap';
export const CACHE_DIR = process.env.BERTH_TEST_CACHE ?? '/var/cache/berth-tests';

/** What the root filesystem is made from; its hash names the cached tar. */
export const NGINX_RECIPE = { tool: 'mmdebstrap', variant: 'minbase', suite: 'bookworm', include: ['nginx-light'] } as const;
export const NGINX_CHANGES = ['CMD ["nginx","-g","daemon off;"]', 'EXPOSE 80'];

export const nginxSkip: string | false = !existsSync(MMDEBSTRAP) ? `needs ${MMDEBSTRAP}` : false;

const recipeHash = (): string => createHash('sha256').update(JSON.stringify(NGINX_RECIPE)).digest('hex').slice(0, 16);

/** The cached rootfs tar, built first when absent (about 16 s and 186 MB here). */
export function nginxRootfsTar(): string {
  mkdirSync(CACHE_DIR, { recursive: true });
  const tar = join(CACHE_DIR, `nginx-rootfs-${recipeHash()}.tar`);
  if (existsSync(tar) && statSync(tar).isFile()) return tar;
  // mmdebstrap picks its output format from the name: the temp name ends in .tar too
  const tmp = tar.replace(/\.tar$/, '.building.tar');
  const build = [MMDEBSTRAP, '--quiet', `--variant=${NGINX_RECIPE.variant}`, `--include=${NGINX_RECIPE.include.join(',')}`, NGINX_RECIPE.suite, tmp]
    .map((a) => `'${a}'`).join(' ');
  // under the lock: a run that waited finds the tar made by the other one
  const r = spawnSync('flock', [join(CACHE_DIR, '.nginx.lock'), 'sh', '-c', `test -e '${tar}' || { rm -f '${tmp}' && ${build} && mv '${tmp}' '${tar}'; }`],
    { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !existsSync(tar)) throw new Error(`cannot build the nginx rootfs with mmdebstrap (exit ${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  return tar;
}

/** Imports the nginx image into the core as name. */
export function importNginx(client: CoreClient, name: string): Promise<Image> {
  return client.importImage(createReadStream(nginxRootfsTar(), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, {
    name, changes: NGINX_CHANGES, message: `mmdebstrap --variant=${NGINX_RECIPE.variant} --include=${NGINX_RECIPE.include.join(',')} ${NGINX_RECIPE.suite}`,
  });
}
