/** The Gc service: one mark-and-sweep over every namespace, on demand. */
import type { UnaryHandlers } from './context.js';
import type { ImageContext } from './images.js';

export function gcService(ic: ImageContext): UnaryHandlers<'Gc'> {
  return {
    Collect: async () => {
      const r = await ic.collect();
      return { contentRemoved: String(r.contentRemoved), snapshotsRemoved: String(r.snapshotsRemoved), bytesFreed: String(r.bytesFreed), durationMs: String(r.durationMs) };
    },
  };
}
