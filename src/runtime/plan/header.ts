/** Renders the C header for the wire format (see scripts/gen-native-headers.ts). */
import {
  MessageType, MessageRecords, PlanRecords, PlanKind, HookPoint, RootSwitch, MountExtra, SandboxAction, SandboxPathDeny,
  type RecordSpec,
} from './format.js';

export function macro(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

export function records(prefix: string, table: Record<string, RecordSpec>): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(table)) {
    const fields = spec.fields.map(([f, t]) => `${t} ${f}`).join(', ') || 'no fields';
    out.push(`/* ${spec.doc} — ${fields} */`);
    out.push(`#define ${prefix}${name} ${spec.tag}`);
  }
  return out;
}

export function constants(prefix: string, table: Record<string, number>): string[] {
  return Object.entries(table).map(([n, v]) => `#define ${prefix}${macro(n)} ${v}`);
}

export function renderWireHeader(): string {
  return [
    '/* Generated from src/runtime/plan/format.ts by scripts/gen-native-headers.ts. Do not edit. */',
    '#ifndef BERTH_WIRE_H',
    '#define BERTH_WIRE_H',
    '',
    '/* Message types */',
    ...constants('BERTH_MSG_', MessageType),
    '',
    '/* Conversation records */',
    ...records('BERTH_REC_', MessageRecords),
    '',
    '/* Plan records */',
    ...records('BERTH_PLAN_', PlanRecords),
    '',
    ...constants('BERTH_KIND_', PlanKind),
    ...constants('BERTH_HOOK_', HookPoint),
    ...constants('BERTH_ROOT_', RootSwitch),
    ...constants('BERTH_MOUNT_', MountExtra),
    ...constants('BERTH_SANDBOX_', SandboxAction),
    ...constants('BERTH_SANDBOX_DENY_', SandboxPathDeny),
    '',
    '#endif',
    '',
  ].join('\n');
}
