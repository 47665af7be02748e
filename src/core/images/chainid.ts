/**
 * Chain IDs (OCI image-spec, config.md): the identity of a stack of layers,
 * so a snapshot holding layers 1..n is found again whatever image they came
 * from. chainID(1) = diffID(1); chainID(n) = sha256(chainID(n-1) + " " + diffID(n)).
 */
import { createHash } from 'node:crypto';

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

export function chainId(diffIds: readonly string[]): string {
  return chainIds(diffIds).at(-1) ?? '';
}
