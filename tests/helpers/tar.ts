/** Tar archives for tests, built in memory with tar-stream. */
import { pack, type Pack } from 'tar-stream';

/** The archive `fn` writes its entries into. */
export function packed(fn: (p: Pack) => void): Promise<Buffer> {
  const p = pack();
  fn(p);
  p.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
}
