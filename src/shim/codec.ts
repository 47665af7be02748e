/**
 * Encoding and decoding of shim messages (see protocol.ts). The framing is
 * the planner wire's; the record table is the shim's own.
 */
import type { FieldType, RecordSpec } from '../runtime/plan/format.js';
import { ShimRecords, type ShimRecordName } from './protocol.js';

type FieldValue<T extends FieldType> =
  T extends 'u32' | 'i32' ? number :
  T extends 'u64' ? bigint :
  T extends 'str' ? string :
  T extends 'bytes' ? Uint8Array :
  T extends 'strs' ? readonly string[] :
  T extends 'u32s' ? readonly number[] : never;

export type ShimRecordValue<N extends ShimRecordName> = {
  [F in (typeof ShimRecords)[N]['fields'][number] as F[0]]: FieldValue<F[1]>;
};
export type ShimEntry = { [N in ShimRecordName]: { type: N; value: ShimRecordValue<N> } }[ShimRecordName];

export interface ShimMessage {
  type: number;
  records: ShimEntry[];
}

const byTag = new Map<number, [ShimRecordName, RecordSpec]>(
  (Object.entries(ShimRecords) as [ShimRecordName, RecordSpec][]).map(([n, s]) => [s.tag, [n, s]]),
);

function field(type: FieldType, v: unknown): Buffer {
  switch (type) {
    case 'u32': { const b = Buffer.alloc(4); b.writeUInt32LE((v as number) >>> 0); return b; }
    case 'i32': { const b = Buffer.alloc(4); b.writeInt32LE(v as number); return b; }
    case 'u64': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v as bigint))); return b; }
    case 'str': case 'bytes': {
      const raw = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
      const n = Buffer.alloc(4); n.writeUInt32LE(raw.length); return Buffer.concat([n, raw]);
    }
    default: throw new Error(`shim codec: field type ${type} is not used by the shim protocol`);
  }
}

/** A whole framed message: u32 length | u16 type | records. */
export function encodeShimMessage(type: number, records: readonly ShimEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const spec: RecordSpec = ShimRecords[r.type];
    const values = r.value as Record<string, unknown>;
    const payload = Buffer.concat(spec.fields.map(([f, t]) => field(t, values[f])));
    const head = Buffer.alloc(6);
    head.writeUInt16LE(spec.tag, 0);
    head.writeUInt32LE(payload.length, 2);
    parts.push(head, payload);
  }
  const head = Buffer.alloc(6);
  const body = Buffer.concat(parts);
  head.writeUInt32LE(body.length + 2, 0);
  head.writeUInt16LE(type, 4);
  return Buffer.concat([head, body]);
}

function readFields(spec: RecordSpec, b: Buffer, start: number, end: number, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let p = start;
  const need = (n: number): void => { if (p + n > end) throw new Error(`shim codec: record ${name} is truncated`); };
  for (const [f, t] of spec.fields) {
    if (t === 'u32') { need(4); out[f] = b.readUInt32LE(p); p += 4; }
    else if (t === 'i32') { need(4); out[f] = b.readInt32LE(p); p += 4; }
    else if (t === 'u64') { need(8); out[f] = b.readBigUInt64LE(p); p += 8; }
    else if (t === 'str' || t === 'bytes') {
      need(4); const n = b.readUInt32LE(p); p += 4; need(n);
      // large bytes (a process's output) are a view of the received frame, not a copy; small ones are
      // copied so they do not keep a whole socket read alive
      out[f] = t === 'str' ? b.toString('utf8', p, p + n) : n >= 4096 ? b.subarray(p, p + n) : Buffer.from(b.subarray(p, p + n)); p += n;
    } else throw new Error(`shim codec: field type ${t} is not used by the shim protocol`);
  }
  return out;
}

/** Decodes a message body (the bytes after the u32 length). Unknown tags are skipped. */
export function decodeShimMessage(body: Buffer): ShimMessage {
  if (body.length < 2) throw new Error('shim codec: message shorter than its type');
  const records: ShimEntry[] = [];
  let p = 2;
  while (p < body.length) {
    if (p + 6 > body.length) throw new Error('shim codec: truncated record header');
    const tag = body.readUInt16LE(p);
    const len = body.readUInt32LE(p + 2);
    p += 6;
    if (p + len > body.length) throw new Error(`shim codec: record ${tag} overruns its message`);
    const entry = byTag.get(tag);
    if (entry) records.push({ type: entry[0], value: readFields(entry[1], body, p, p + len, entry[0]) } as ShimEntry);
    p += len;
  }
  return { type: body.readUInt16LE(0), records };
}

/** The value of the first record of this name, if any. */
export function findRecord<N extends ShimRecordName>(m: ShimMessage, name: N): ShimRecordValue<N> | undefined {
  const r = m.records.find((e) => e.type === name);
  return r ? (r.value as ShimRecordValue<N>) : undefined;
}
