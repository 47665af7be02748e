/**
 * Docker's JSON progress messages, as dockerd writes them on pull and push:
 * `{"status", "progressDetail", "progress", "id"}` per layer (id: the first
 * 12 hex of the layer's digest), the text bar of 50 cells, and sizes in
 * Docker's decimal units ("2.153MB").
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** units.HumanSize: 4 significant digits, decimal units. */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) { size /= 1000; i++; }
  return `${formatG(size, 4)}${UNITS[i]}`;
}

/** Go's %.Ng: significant digits, no trailing zeros. */
function formatG(n: number, digits: number): string {
  if (n === 0) return '0';
  return String(Number(n.toPrecision(digits)));
}

/** The progress text (`[=====>     ]  1.2MB/3.4MB`) of a JSONProgress at Docker's server-side width. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return `${humanSize(current).padStart(8)}`;
  const cells = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(cells)}>${' '.repeat(50 - cells)}] `;
  return `${bar}${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export function layerId(digest: string): string {
  return digest.replace(/^[a-z0-9]+:/, '').slice(0, 12);
}

export type Message = Record<string, unknown>;

export const status = (text: string, id?: string): Message => (id === undefined ? { status: text } : { status: text, progressDetail: {}, id });

export function progressMessage(text: string, id: string, current: number, total: number): Message {
  return { status: text, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** An error inside a stream, after the 200 went out. */
export function errorMessage(message: string): Message {
  return { errorDetail: { message }, error: message };
}

/** Layer media types (Docker's and OCI's): the descriptors pull and push report per layer. */
export function isLayerType(mediaType: string): boolean {
  return mediaType.startsWith('application/vnd.oci.image.layer.') || mediaType.startsWith('application/vnd.docker.image.rootfs.');
}
