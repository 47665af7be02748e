/**
 * What a create reads in a fresh container's root filesystem — the image's
 * /etc/passwd and /etc/group, and whether WorkingDir exists — remembered
 * per image chain. A fresh snapshot shows exactly its parent chain, and a
 * committed chain never changes, so the next container of the same image
 * learns the same facts without mounting its root filesystem (a mount, a
 * few reads and an unmount on every create otherwise).
 */
import { posix } from 'node:path';

export interface ImageFiles {
  passwd: string | undefined;
  group: string | undefined;
  /** directory → whether the image has it */
  dirs: Map<string, boolean>;
}

/** Chains remembered at most (a few hundred bytes each, the files' text). */
const MAX_CHAINS = 128;

export class ImageFilesCache {
  private readonly byChain = new Map<string, ImageFiles>();

  private static key(snapshotter: string, chainId: string): string { return `${snapshotter}/${chainId}`; }

  /** The facts of a chain when every one a create needs is known (WorkingDir present in it), else undefined. */
  lookup(snapshotter: string, chainId: string, workingDir: string | undefined): ImageFiles | undefined {
    if (chainId === '') return undefined; // an image without layers: nothing worth remembering
    const f = this.byChain.get(ImageFilesCache.key(snapshotter, chainId));
    if (!f) return undefined;
    if (workingDir && f.dirs.get(normalizeDir(workingDir)) !== true) return undefined;
    return f;
  }

  /** Records what a look into a fresh root filesystem of this chain found. */
  remember(snapshotter: string, chainId: string, files: { passwd: string | undefined; group: string | undefined }, dir?: { path: string; exists: boolean }): void {
    if (chainId === '') return;
    const key = ImageFilesCache.key(snapshotter, chainId);
    let f = this.byChain.get(key);
    if (!f) {
      if (this.byChain.size >= MAX_CHAINS) this.byChain.delete(this.byChain.keys().next().value!);
      f = { passwd: files.passwd, group: files.group, dirs: new Map() };
      this.byChain.set(key, f);
    }
    if (dir) f.dirs.set(normalizeDir(dir.path), dir.exists);
  }
}

function normalizeDir(path: string): string {
  return posix.normalize(`/${path}`);
}
