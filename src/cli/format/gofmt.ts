/**
 * Go's fmt as Docker's templates show values: `%v` of strings, numbers,
 * slices (`[a b]`), maps (`map[k:v]`, keys sorted) and structs (`{v1 v2}`),
 * plus the `printf` verbs scripts use. The API's JSON has lost the Go types,
 * so whether an object prints as a map or a struct is decided by the field
 * it was reached through (Labels, PortBindings … are maps in Docker's types).
 */

/** Fields whose values are Go maps in Docker's API types; every other object is a struct. */
const MAP_FIELDS = new Set([
  'Labels', 'PortBindings', 'ExposedPorts', 'Ports', 'Networks', 'Config', 'Sysctls', 'Volumes', 'Options',
  'DriverOpts', 'Tmpfs', 'StorageOpt', 'Data', 'Annotations', 'Status',
]);

/** An object reached through `field` prints as a Go map when Docker's type is a map. */
export function isMapField(field: string | undefined): boolean {
  return field !== undefined && MAP_FIELDS.has(field);
}

/** fmt's %v of one value; `field` is the name it was reached through (decides map or struct). */
export function formatValue(v: unknown, field?: string): string {
  if (v === undefined) return '<no value>';
  if (v === null) return field === undefined ? '<nil>' : isMapField(field) ? 'map[]' : '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map((x) => formatNested(x)).join(' ')}]`;
  if (typeof v === 'object' && 'toGoString' in v && typeof v.toGoString === 'function') return String(v.toGoString());
  const o = v as Record<string, unknown>;
  if (isMapField(field)) {
    return `map[${Object.keys(o).sort().map((k) => `${k}:${formatNested(o[k], k, true)}`).join(' ')}]`;
  }
  return `{${Object.entries(o).map(([k, x]) => formatNested(x, k)).join(' ')}}`;
}

/** A value inside a slice, map or struct: nil is `<nil>`, maps inside maps stay maps. */
function formatNested(v: unknown, field?: string, inMap = false): string {
  if (v === null || v === undefined) return isMapField(field) ? 'map[]' : inMap ? '<nil>' : '<nil>';
  if (typeof v === 'object' && !Array.isArray(v) && inMap) return formatValue(v, undefined);
  return formatValue(v, field);
}

/** Go prints integral float64 as integers only below 1e21; JSON numbers are mostly Go ints. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? n.toFixed(0) : String(n).replace('e+', 'e+');
  return String(n);
}

/** Go's %q of a string. */
export function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Go's fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** Go's fmt.Sprintln: always spaces between operands, a newline at the end. */
export function sprintln(args: unknown[]): string {
  return `${args.map((a) => formatValue(a)).join(' ')}\n`;
}

/** Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %t %f %x %X %o %%. */
export function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[i++];
    let s = formatVerb(verb ?? 'v', arg, prec === undefined ? undefined : Number(prec));
    const w = width === undefined ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else s = flags.includes('0') && typeof arg === 'number' ? s.padStart(w, '0') : s.padStart(w);
    }
    return s;
  }) + (i < args.length ? `%!(EXTRA ${args.slice(i).map((a) => `${goTypeName(a)}=${formatValue(a)}`).join(', ')})` : '');
}

function formatVerb(verb: string, arg: unknown, prec: number | undefined): string {
  switch (verb) {
    case 'v': case 's': {
      const s = formatValue(arg);
      return verb === 's' && prec !== undefined ? s.slice(0, prec) : s;
    }
    case 'q': return typeof arg === 'string' ? quote(arg) : Array.isArray(arg) ? `[${arg.map((a) => quote(formatValue(a))).join(' ')}]` : `%!q(${goTypeName(arg)}=${formatValue(arg)})`;
    case 'd': return typeof arg === 'number' && Number.isInteger(arg) ? arg.toFixed(0) : `%!d(${goTypeName(arg)}=${formatValue(arg)})`;
    case 't': return typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${formatValue(arg)})`;
    case 'f': case 'F': return typeof arg === 'number' ? arg.toFixed(prec ?? 6) : `%!f(${goTypeName(arg)}=${formatValue(arg)})`;
    case 'x': case 'X': {
      const s = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Buffer.from(formatValue(arg)).toString('hex');
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'o': return typeof arg === 'number' ? Math.trunc(arg).toString(8) : `%!o(${goTypeName(arg)}=${formatValue(arg)})`;
    default: return `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`;
  }
}

/** The Go type name fmt shows in its error markers. */
export function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v === null || v === undefined) return '<nil>';
  return 'map[string]interface {}';
}
