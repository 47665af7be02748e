/**
 * Generates the C headers of the protocols declared in TypeScript, so the C
 * side and the TypeScript side share one declaration:
 *   native/include/berth/wire.h  from src/runtime/plan/format.ts
 *   native/include/berth/shim.h  from src/shim/protocol.ts
 *   tsx scripts/gen-native-headers.ts          write the headers
 *   tsx scripts/gen-native-headers.ts --check  exit 1 when one is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderWireHeader } from '../src/runtime/plan/header.js';
import { renderShimHeader } from '../src/shim/header.js';

const headers: [string, string][] = [
  ['../native/include/berth/wire.h', renderWireHeader()],
  ['../native/include/berth/shim.h', renderShimHeader()],
];
let stale = false;
for (const [rel, text] of headers) {
  const target = fileURLToPath(new URL(rel, import.meta.url));
  if (process.argv.includes('--check')) {
    let current = '';
    try { current = readFileSync(target, 'utf8'); } catch { /* missing counts as stale */ }
    if (current !== text) {
      process.stderr.write(`${target} is stale: run npm run gen:headers\n`);
      stale = true;
    }
  } else {
    writeFileSync(target, text);
  }
}
if (stale) process.exit(1);
