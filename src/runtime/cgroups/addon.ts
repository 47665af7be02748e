/**
 * The one addon call the cgroup code needs (attaching a v2 device filter).
 * Until src/common/native.ts types the whole addon, it is loaded here:
 * BERTH_ADDON (an explicit path, for tests of a freshly built copy), then the
 * bundled dist/ copy, then node-gyp's build/Release.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unavailable } from '../../common/errors.js';

export interface CgroupBpfAddon {
  /**
   * Loads insns (struct bpf_insn[]) as a BPF_PROG_TYPE_CGROUP_DEVICE program
   * and attaches it to the cgroup directory open as cgroupDirFd with
   * BPF_F_ALLOW_MULTI. With replaceExisting, programs attached to that
   * cgroup before are detached afterwards. Throws with the errno and the
   * verifier's log on failure.
   */
  cgroupDeviceFilterAttach(cgroupDirFd: number, insns: Buffer, license: string, replaceExisting?: boolean): void;
}

let cached: CgroupBpfAddon | undefined;

function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const out: string[] = [];
  if (process.env.BERTH_ADDON) out.push(process.env.BERTH_ADDON);
  // from src/runtime/cgroups (tsx) or from dist/ (bundle): walk up to the package root
  for (let d = here, i = 0; i < 5; d = dirname(d), i++) {
    out.push(join(d, 'dist', 'berth_addon.node'), join(d, 'build', 'Release', 'berth_addon.node'));
  }
  out.push(join(here, 'berth_addon.node'));
  return out;
}

export function cgroupBpfAddon(): CgroupBpfAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of candidates()) {
    try {
      const mod = require(path) as Partial<CgroupBpfAddon>;
      if (typeof mod.cgroupDeviceFilterAttach === 'function') {
        cached = mod as CgroupBpfAddon;
        return cached;
      }
      errors.push(`${path}: has no cgroupDeviceFilterAttach`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'MODULE_NOT_FOUND') errors.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw unavailable(`cannot load the berth addon for cgroup device filters${errors.length ? `: ${errors.join('; ')}` : ': not built'}`);
}
