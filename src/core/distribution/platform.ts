/**
 * Platforms: `--platform os/arch[/variant]` parsed and normalised, and the
 * choice of one manifest from an image index or manifest list. Names are
 * normalised the way the OCI image-spec spells them (x86_64 → amd64,
 * aarch64 → arm64, armhf → arm/v7); an arm64 "v8" variant is the default and
 * dropped, an arm without variant means v7.
 */
import { invalidArgument, notFound } from '../../common/errors.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  i386: { architecture: '386' },
  i486: { architecture: '386' },
  i586: { architecture: '386' },
  i686: { architecture: '386' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/** Node's process.arch → OCI architecture. */
const NODE_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le' };

function normalizeVariant(arch: string, variant: string | undefined): string | undefined {
  if (variant === undefined || variant === '') return arch === 'arm' ? 'v7' : undefined;
  const v = variant.toLowerCase();
  if (arch === 'arm64') return v === '8' || v === 'v8' ? undefined : v;
  if (arch === 'arm' && /^[5-8]$/.test(v)) return `v${v}`;
  return v;
}

/** The OCI spelling of a platform (lowercase, aliases resolved, default variants dropped). */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  const alias = ARCH_ALIASES[p.architecture.toLowerCase()];
  const architecture = alias?.architecture ?? p.architecture.toLowerCase();
  const variant = normalizeVariant(architecture, p.variant ?? alias?.variant);
  const out: Platform = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  return out;
}

/** "linux/amd64", "linux/arm/v7" */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/** Parses `--platform`: "os/arch[/variant]" (or a bare os or arch, completed from the host). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  if (parts.some((p) => p === '' || !/^[A-Za-z0-9_.-]+$/.test(p)) || parts.length > 3) {
    throw invalidArgument(`invalid platform ${JSON.stringify(text)}: expected os/arch[/variant]`);
  }
  const host = hostPlatform();
  if (parts.length === 1) {
    const one = parts[0]!.toLowerCase();
    const knownOs = ['linux', 'windows', 'darwin', 'freebsd', 'macos'].includes(one);
    return normalizePlatform(knownOs ? { os: one, architecture: host.architecture } : { os: host.os, architecture: one });
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
}

/** The platform this process runs on (linux/amd64 on these machines). */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: NODE_ARCH[process.arch] ?? process.arch });
}

/**
 * Variants an arm machine can run, best first: a v7 machine runs v7, v6, v5
 * images. Other architectures only run their own variant.
 */
function compatibleVariants(want: Platform): (string | undefined)[] {
  if (want.architecture === 'arm') {
    const n = Number((want.variant ?? 'v7').slice(1));
    return [8, 7, 6, 5].filter((v) => v <= n).map((v) => `v${v}`);
  }
  return [want.variant];
}

/** How well `have` fits `want`: 0 best, higher worse, -1 not at all. */
export function platformRank(want: Platform, have: Platform): number {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return -1;
  return compatibleVariants(w).indexOf(h.variant);
}

export function platformMatches(want: Platform, have: Platform): boolean {
  return platformRank(want, have) >= 0;
}

/** Entries of an index that describe an image for a platform (attestations and the like excluded). */
function platformEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter((d) => d.platform !== undefined && d.platform.os !== 'unknown' && d.platform.architecture !== 'unknown');
}

/**
 * The manifest of `index` for `want`; the best variant wins, then the first
 * listed. `not-found` names what the index offers when nothing fits.
 */
export function selectManifest(index: ImageIndex, want: Platform, refName: string): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const d of platformEntries(index)) {
    const rank = platformRank(want, d.platform!);
    if (rank >= 0 && rank < bestRank) { best = d; bestRank = rank; }
  }
  if (best) return best;
  const available = [...new Set(platformEntries(index).map((d) => formatPlatform(normalizePlatform(d.platform!))))];
  throw notFound(`no manifest for platform ${formatPlatform(normalizePlatform(want))} in ${refName} (available: ${available.length ? available.join(', ') : 'none'})`);
}
