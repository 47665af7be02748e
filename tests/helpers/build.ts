/**
 * What the build suites share: a berthd with the busybox base imported as
 * bb:1 (with a passwd and group naming nobody, for --chown and USER), and
 * context directories written from a name → text table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxTar, dockerOk, ready, spawnBerthd, type Berthd, type Layout } from './berthd.js';

const USERS = {
  'etc/passwd': 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n',
  'etc/group': 'root:x:0:\nnobody:x:65534:\n',
};

/** A berthd on the layout, with bb:1 (busybox, PATH=/bin, CMD sh) imported. */
export async function berthdWithBase(l: Layout, dir: string): Promise<Berthd> {
  const b = await ready(spawnBerthd(l));
  dockerOk(b.sock, ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', busyboxTar(dir, USERS), 'bb:1']);
  return b;
}

/** A context directory `<dir>/<name>` holding these files. */
export function writeContext(dir: string, name: string, files: Record<string, string>): string {
  const c = join(dir, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(c, p, '..'), { recursive: true });
    writeFileSync(join(c, p), text);
  }
  return c;
}
