/**
 * A cpio archive in the "newc" format the kernel unpacks as its initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): written here
 * so the build needs no cpio(1), and byte-for-byte reproducible (fixed
 * mtimes and inode numbers) so its content hash names its cache entry.
 */
export interface CpioEntry {
  /** path inside the archive, without a leading slash */
  name: string;
  /** full st_mode: S_IFREG | 0755, S_IFDIR | 0755, S_IFCHR | 0600 … */
  mode: number;
  data?: Buffer;
  /** device numbers of a character or block node */
  rdevMajor?: number;
  rdevMinor?: number;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function header(e: CpioEntry, ino: number, size: number): Buffer {
  const name = Buffer.from(`${e.name}\0`, 'utf8');
  const fields = [
    ino, e.mode, 0, 0, (e.mode & 0o170000) === S_IFDIR ? 2 : 1, 0, size,
    0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0,
  ];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'latin1');
  return Buffer.concat([head, name, pad4(head.length + name.length)]);
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(header(e, ino++, data.length), data, pad4(data.length));
  }
  parts.push(header({ name: 'TRAILER!!!', mode: 0 }, 0, 0));
  const body = Buffer.concat(parts);
  // the kernel reads whole 512-byte blocks: pad like cpio(1) does
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
