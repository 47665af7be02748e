// Writes dist/core-api.json: berth-core's API parsed from proto/ as protobufjs
// JSON, which the bundles load instead of parsing the .proto files on every
// start. Run by scripts/build.mjs on every build, so it is never stale;
// tests/unit/api-json.test.ts checks it against proto/.
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// the parse lives in proto.ts (one place for the file list and the options)
const { apiJson, API_JSON_FILE } = await tsImport('../src/core/api/proto.ts', import.meta.url);
const dest = join(root, 'dist', API_JSON_FILE);
writeFileSync(dest + '.tmp', JSON.stringify(apiJson(join(root, 'proto'))));
renameSync(dest + '.tmp', dest);
