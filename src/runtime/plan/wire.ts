/**
 * Encoding and decoding of the wire format declared in `format.ts`.
 * Records are encoded from their declaration, so a field added there is
 * encoded here without another edit.
 */
import {
  type FieldType, type RecordSpec, PlanRecords, MessageRecords,
  type PlanRecordName, type MessageRecordName,
} from './format.js';

type FieldValue<T extends FieldType> =
  T extends 'u32' | 'i32' ? number :
  T extends 'u64' ? bigint | number :
  T extends 'str' ? string :
  T extends 'bytes' ? Uint8Array :
  T extends 'strs' ? readonly string[] :
  T extends 'u32s' ? readonly number[] : never;

type FieldsOf<S extends RecordSpec> = {
  [F in S['fields'][number] as F[0]]: FieldValue<F[1]>;
};

export type PlanRecordValue<N extends PlanRecordName> = FieldsOf<(typeof PlanRecords)[N]>;
export type MessageRecordValue<N extends MessageRecordName> = FieldsOf<(typeof MessageRecords)[N]>;

/** One plan record as the planner builds it. */
export type PlanEntry = { [N in PlanRecordName]: { type: N; value: PlanRecordValue<N> } }[PlanRecordName];
export type MessageEntry = { [N in MessageRecordName]: { type: N; value: MessageRecordValue<N> } }[MessageRecordName];

/** Grows a byte buffer; faster than concatenating many small Buffers. */
class Writer {
  private buf = Buffer.allocUnsafe(4096);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u16(v: number): void { this.reserve(2); this.buf.writeUInt16LE(v, this.len); this.len += 2; }
  u32(v: number): void { this.reserve(4); this.buf.writeUInt32LE(v >>> 0, this.len); this.len += 4; }
  i32(v: number): void { this.reserve(4); this.buf.writeInt32LE(v, this.len); this.len += 4; }
  u64(v: bigint | number): void { this.reserve(8); this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), this.len); this.len += 8; }
  raw(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.len); this.len += b.length; }
  bytes(b: Uint8Array): void { this.u32(b.length); this.raw(b); }
  str(s: string): void { this.bytes(Buffer.from(s, 'utf8')); }
  patchU32(at: number, v: number): void { this.buf.writeUInt32LE(v >>> 0, at); }
  get length(): number { return this.len; }
  take(): Buffer { return this.buf.subarray(0, this.len); }
}

function writeField(w: Writer, type: FieldType, value: unknown, where: string): void {
  switch (type) {
    case 'u32': w.u32(value as number); return;
    case 'i32': w.i32(value as number); return;
    case 'u64': w.u64(value as bigint | number); return;
    case 'str': w.str(value as string); return;
    case 'bytes': w.bytes(value as Uint8Array); return;
    case 'strs': { const a = value as readonly string[]; w.u32(a.length); for (const s of a) w.str(s); return; }
    case 'u32s': { const a = value as readonly number[]; w.u32(a.length); for (const n of a) w.u32(n); return; }
    default: throw new Error(`wire: unknown field type ${String(type)} in ${where}`);
  }
}

function writeRecord(w: Writer, spec: RecordSpec, value: Record<string, unknown>, name: string): void {
  w.u16(spec.tag);
  const lenAt = w.length;
  w.u32(0);
  for (const [field, type] of spec.fields) {
    const v = value[field];
    if (v === undefined) throw new Error(`wire: record ${name} lacks field ${field}`);
    writeField(w, type, v, `${name}.${field}`);
  }
  w.patchU32(lenAt, w.length - lenAt - 4);
}

/** Encodes a whole framed message: u32 length | u16 type | records. */
export function encodeMessage(type: number, records: readonly (PlanEntry | MessageEntry)[], kind: 'plan' | 'message' = 'message'): Buffer {
  const w = new Writer();
  w.u32(0);
  w.u16(type);
  for (const r of records) {
    const table: Record<string, RecordSpec> = kind === 'plan' ? PlanRecords : MessageRecords;
    const spec = table[r.type];
    if (!spec) throw new Error(`wire: unknown ${kind} record ${r.type}`);
    writeRecord(w, spec, r.value as Record<string, unknown>, r.type);
  }
  const out = w.take();
  out.writeUInt32LE(out.length - 4, 0);
  return out;
}

export function encodePlanMessage(type: number, plan: readonly PlanEntry[]): Buffer {
  return encodeMessage(type, plan, 'plan');
}

export interface DecodedMessage {
  type: number;
  records: MessageEntry[];
}

const messageByTag = new Map<number, [MessageRecordName, RecordSpec]>(
  (Object.entries(MessageRecords) as [MessageRecordName, RecordSpec][]).map(([n, s]) => [s.tag, [n, s]]),
);
const planByTag = new Map<number, [PlanRecordName, RecordSpec]>(
  (Object.entries(PlanRecords) as [PlanRecordName, RecordSpec][]).map(([n, s]) => [s.tag, [n, s]]),
);

function readFields(spec: RecordSpec, b: Buffer, start: number, end: number, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let p = start;
  const need = (n: number): void => { if (p + n > end) throw new Error(`wire: record ${name} is truncated`); };
  const str = (): Buffer => { need(4); const n = b.readUInt32LE(p); p += 4; need(n); const s = b.subarray(p, p + n); p += n; return s; };
  for (const [field, type] of spec.fields) {
    switch (type) {
      case 'u32': need(4); out[field] = b.readUInt32LE(p); p += 4; break;
      case 'i32': need(4); out[field] = b.readInt32LE(p); p += 4; break;
      case 'u64': need(8); out[field] = b.readBigUInt64LE(p); p += 8; break;
      case 'str': out[field] = str().toString('utf8'); break;
      case 'bytes': out[field] = Buffer.from(str()); break;
      case 'strs': { need(4); const n = b.readUInt32LE(p); p += 4; const a: string[] = []; for (let i = 0; i < n; i++) a.push(str().toString('utf8')); out[field] = a; break; }
      case 'u32s': { need(4); const n = b.readUInt32LE(p); p += 4; const a: number[] = []; for (let i = 0; i < n; i++) { need(4); a.push(b.readUInt32LE(p)); p += 4; } out[field] = a; break; }
    }
  }
  return out;
}

function decodeRecords<N extends string>(body: Buffer, table: Map<number, [N, RecordSpec]>): { type: N; value: Record<string, unknown> }[] {
  const records: { type: N; value: Record<string, unknown> }[] = [];
  let p = 2;
  while (p < body.length) {
    if (p + 6 > body.length) throw new Error('wire: truncated record header');
    const tag = body.readUInt16LE(p);
    const len = body.readUInt32LE(p + 2);
    p += 6;
    if (p + len > body.length) throw new Error(`wire: record ${tag} overruns its message`);
    const entry = table.get(tag);
    if (entry) records.push({ type: entry[0], value: readFields(entry[1], body, p, p + len, entry[0]) });
    p += len;
  }
  return records;
}

/** Decodes a message body (the bytes after the u32 length). */
export function decodeMessage(body: Buffer): DecodedMessage {
  if (body.length < 2) throw new Error('wire: message shorter than its type');
  return { type: body.readUInt16LE(0), records: decodeRecords(body, messageByTag) as MessageEntry[] };
}

/** Decodes the plan carried by an EXECUTE message body (tests and tooling). */
export function decodePlan(body: Buffer): PlanEntry[] {
  return decodeRecords(body, planByTag) as PlanEntry[];
}

/**
 * Splits a byte stream into message bodies. Feed it chunks; it returns every
 * complete body. Bodies are views of the chunks; only a body cut across two
 * chunks is copied (a fast stream of small frames read 64 KiB at a time
 * would otherwise copy each whole read once more to join its cut tail).
 */
export class FrameReader {
  /** the start of a cut frame: its pieces and their length */
  private parts: Buffer[] = [];
  private partsLength = 0;

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rest = chunk;
    if (this.partsLength > 0) {
      const joined = this.completeCut(rest);
      if (!joined) return out;
      out.push(joined.body);
      rest = joined.rest;
    }
    while (rest.length >= 4) {
      const n = rest.readUInt32LE(0);
      if (rest.length < 4 + n) break;
      out.push(rest.subarray(4, 4 + n));
      rest = rest.subarray(4 + n);
    }
    if (rest.length > 0) { this.parts = [rest]; this.partsLength = rest.length; }
    return out;
  }

  /** The cut frame completed from chunk (copied into one body), with what follows it; undefined while still short. */
  private completeCut(chunk: Buffer): { body: Buffer; rest: Buffer } | undefined {
    if (this.partsLength < 4) {
      // the length itself is cut: join just enough to read it
      const head = Buffer.concat([...this.parts, chunk.subarray(0, 4 - this.partsLength)]);
      if (head.length < 4) { this.parts.push(chunk); this.partsLength += chunk.length; return undefined; }
      this.parts = [head];
      chunk = chunk.subarray(4 - this.partsLength);
      this.partsLength = 4;
    }
    const need = 4 + this.parts[0]!.readUInt32LE(0) - this.partsLength;
    if (chunk.length < need) { this.parts.push(chunk); this.partsLength += chunk.length; return undefined; }
    const frame = Buffer.concat([...this.parts, chunk.subarray(0, need)]);
    this.parts = [];
    this.partsLength = 0;
    return { body: frame.subarray(4), rest: chunk.subarray(need) };
  }
}
