/**
 * The init of `--init` containers: Debian's tini-static (package tini),
 * bind-mounted read-only at /sbin/docker-init as dockerd does with its
 * docker-init. Static, so it runs in any image.
 */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/tini-static', '/usr/libexec/docker/docker-init', '/usr/sbin/docker-init'];

export function initBinary(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}
