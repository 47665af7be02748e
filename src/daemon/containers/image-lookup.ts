/**
 * A create's image lookup, remembered: the core's image inspect (one
 * round trip, and the core reading the image's manifest and config) is
 * asked once per reference, not once per container. Every change to the
 * images berthd makes (pull, tag, untag, delete, load, import, prune) is an
 * `image` event on its bus, and any of them forgets everything, before the
 * change's API call answers; the create itself falls back to the core's
 * word when a remembered image's snapshot is gone.
 */
import type { CoreClient } from '../../core/client.js';
import { resolveImage, type ImageFacts } from './create.js';

/** References remembered at most. */
const MAX_REFS = 256;

export class ImageLookup {
  private readonly byRef = new Map<string, Promise<ImageFacts>>();

  constructor(private readonly core: CoreClient) {}

  /** The image's facts, from memory or the core (a copy: callers may change it). */
  async resolve(ref: string): Promise<ImageFacts> {
    let p = this.byRef.get(ref);
    if (!p) {
      const asked = resolveImage(this.core, ref);
      p = asked;
      if (this.byRef.size >= MAX_REFS) this.byRef.delete(this.byRef.keys().next().value!);
      this.byRef.set(ref, asked);
      // a failed lookup (no such image, the core away) is not remembered
      asked.catch(() => { if (this.byRef.get(ref) === asked) this.byRef.delete(ref); });
    }
    return structuredClone(await p);
  }

  /** Forgets every image (they changed). */
  forget(): void {
    this.byRef.clear();
  }
}
