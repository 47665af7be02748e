/**
 * The core's pull and push progress turned into dockerd's messages, per
 * layer: Pulling fs layer → Downloading (bar) → Verifying Checksum →
 * Download complete → Extracting → Pull complete (or Already exists);
 * Preparing → Pushing → Pushed (or Layer already exists, Mounted from).
 */
import type { PullProgress, PushProgress } from '../../core/api/types.js';
import { isLayerType, layerId, progressMessage, status, type Message } from './progress.js';

export class PullTranslator {
  private readonly layers = new Set<string>();
  private readonly downloaded = new Set<string>();

  /** The messages one core progress message means (none for the manifest and config). */
  translate(p: PullProgress): Message[] {
    const id = layerId(p.digest);
    const total = Number(p.total);
    switch (p.status) {
      case 'waiting':
        this.layers.add(p.digest);
        return [status('Pulling fs layer', id)];
      case 'downloading':
        if (!this.layers.has(p.digest)) return [];
        return [progressMessage('Downloading', id, Number(p.current), total)];
      case 'exists':
        return this.layers.has(p.digest) ? [status('Already exists', id)] : [];
      case 'done': {
        if (!this.layers.has(p.digest) || this.downloaded.has(p.digest)) return [];
        this.downloaded.add(p.digest);
        return [status('Verifying Checksum', id), status('Download complete', id),
          progressMessage('Extracting', id, total, total), status('Pull complete', id)];
      }
      default:
        return [];
    }
  }
}

export class PushTranslator {
  private readonly seen = new Set<string>();

  constructor(private readonly sourceRepo: (digest: string) => string | undefined = () => undefined) {}

  translate(p: PushProgress): Message[] {
    if (!isLayerType(p.mediaType)) return [];
    const id = layerId(p.digest);
    const total = Number(p.total);
    switch (p.status) {
      case 'checking':
        if (this.seen.has(p.digest)) return [];
        this.seen.add(p.digest);
        return [status('Preparing', id)];
      case 'exists': return [status('Layer already exists', id)];
      case 'mounted': return [status(`Mounted from ${this.sourceRepo(p.digest) ?? 'another repository'}`, id)];
      case 'uploading': return [progressMessage('Pushing', id, Number(p.current), total)];
      case 'done': return [progressMessage('Pushing', id, total, total), status('Pushed', id)];
      default: return [];
    }
  }
}
