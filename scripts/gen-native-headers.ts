/**
 * Generates native/include/berth/wire.h from src/runtime/plan/format.ts, so
 * the C side and the TypeScript side share one declaration.
 *   tsx scripts/gen-native-headers.ts          write the header
 *   tsx scripts/gen-native-headers.ts --check  exit 1 when it is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderWireHeader } from '../src/runtime/plan/header.js';

const target = fileURLToPath(new URL('../native/include/berth/wire.h', import.meta.url));
const text = renderWireHeader();
if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    process.stderr.write(`${target} is stale: run npm run gen:headers\n`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
