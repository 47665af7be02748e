/**
 * dist/core-api.json (written by the build, loaded by the bundles instead of
 * parsing proto/) must be the API proto/ declares: the file equals a fresh
 * parse, and the definition proto-loader builds from the JSON encodes and
 * decodes every message exactly as the one it builds from the .proto files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';
import { API_FILES, API_JSON_FILE, LOADER_OPTIONS, apiJson, protoDir, type ApiJson } from '../../src/core/api/proto.js';

const DIST_JSON = join(dirname(fileURLToPath(import.meta.url)), '../../dist', API_JSON_FILE);

type Root = ReturnType<typeof loadProtosWithOptionsSync>;
type MessageType = ReturnType<Root['lookupType']>;
type Field = MessageType['fieldsArray'][number];
type Message = protoLoader.MessageTypeDefinition<object, object>;

test('dist/core-api.json equals the api parsed from proto/', { skip: existsSync(DIST_JSON) ? false : 'needs npm run build' }, () => {
  const written: unknown = JSON.parse(readFileSync(DIST_JSON, 'utf8'));
  assert.deepEqual(written, JSON.parse(JSON.stringify(apiJson())), `${DIST_JSON} is stale: rebuild`);
});

test('the json gives the same services and message descriptors as proto/', () => {
  const { fromProto, fromJson } = definitions();
  assert.deepEqual(Object.keys(fromJson).sort(), Object.keys(fromProto).sort());
  let methods = 0;
  for (const [name, a] of Object.entries(fromProto)) {
    const b = fromJson[name]!;
    if (!('format' in a)) {
      const service = a as protoLoader.ServiceDefinition;
      for (const [m, def] of Object.entries(service)) {
        const other = (b as protoLoader.ServiceDefinition)[m]!;
        assert.deepEqual([other.path, other.requestStream, other.responseStream, other.originalName],
          [def.path, def.requestStream, def.responseStream, def.originalName], `${name}.${m}`);
        methods++;
      }
    } else {
      assert.deepEqual((b as Message).type, (a as Message).type, name);
    }
  }
  assert.ok(methods > 40, `only ${methods} methods`);
});

test('every message encodes and decodes the same through the json as through proto/', () => {
  const { fromProto, fromJson } = definitions();
  const root = loadProtosWithOptionsSync(API_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  let messages = 0;
  for (const [name, a] of Object.entries(fromProto)) {
    if ((a as Message).format !== 'Protocol Buffer 3 DescriptorProto') continue;
    const value = sample(root.lookupType(name), 0);
    const wire = (a as Message).serialize(value);
    assert.deepEqual((fromJson[name] as Message).serialize(value), wire, `${name} encodes differently`);
    assert.deepEqual((fromJson[name] as Message).deserialize(wire), (a as Message).deserialize(wire), `${name} decodes differently`);
    if (wire.length > 0) messages++;
  }
  assert.ok(messages > 100, `only ${messages} non-empty messages`);
});

function definitions(): { fromProto: protoLoader.PackageDefinition; fromJson: protoLoader.PackageDefinition } {
  return {
    fromProto: protoLoader.loadSync(API_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] }),
    fromJson: protoLoader.fromJSON(JSON.parse(JSON.stringify(apiJson())) as ApiJson, LOADER_OPTIONS),
  };
}

/** A value with every field set (two elements per list, one entry per map), nested messages to depth 3. */
function sample(type: MessageType, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 3) return out;
  for (const f of type.fieldsArray) {
    const one = (): unknown => scalar(f, depth);
    if (f.map) out[f.name] = { [String(keyOf((f as Field & { keyType: string }).keyType))]: one() };
    else out[f.name] = f.repeated ? [one(), one()] : one();
  }
  return out;
}

function scalar(f: Field, depth: number): unknown {
  const resolved = f.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return sample(resolved as MessageType, depth + 1);
  if (resolved && 'values' in resolved) return Object.keys(resolved.values).at(-1);
  return keyOf(f.type);
}

function keyOf(protoType: string): unknown {
  switch (protoType) {
    case 'string': return 'value-é';
    case 'bool': return true;
    case 'bytes': return Buffer.from([0, 1, 255]);
    case 'double': return 1.5;
    case 'float': return 0.5;
    case 'int64': case 'sint64': case 'sfixed64': return '-1234567890123';
    case 'uint64': case 'fixed64': return '1234567890123';
    case 'int32': case 'sint32': case 'sfixed32': return -7;
    case 'uint32': case 'fixed32': return 7;
    default: throw new Error(`no sample for protobuf type ${protoType}`);
  }
}
