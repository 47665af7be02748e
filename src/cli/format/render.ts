/**
 * `--format` as Docker applies it to a list: "table" and "json" shorthands,
 * `table …` templates rendered through the tabwriter under a header row, and
 * raw templates printed one line per object.
 */
import { templateFuncs } from './funcs.js';
import { tabwrite } from './tabwriter.js';
import { Template, TemplateError, type FieldSource } from './template.js';

/** A header row: the same template run on an object whose fields answer their column names. */
export class HeaderSource implements FieldSource {
  readonly goTypeName = 'formatter.HeaderContext';
  constructor(private readonly names: Record<string, string>) {}
  field(name: string, args: unknown[]): { found: boolean; value?: unknown } {
    if (name === 'Label' && typeof args[0] === 'string') return { found: true, value: args[0] };
    return { found: true, value: this.names[name] ?? name.toUpperCase() };
  }
}

export interface ListFormat {
  /** The user's --format, or '' for the default. */
  format: string;
  /** The default `table …` format of this list. */
  defaultTable: string;
  /** The format -q selects (`{{.ID}}`). */
  quiet?: boolean;
  headers: Record<string, string>;
}

/** Expands the shorthands: "" and "table" → default table, "json" → `{{json .}}`. */
export function expandFormat(f: ListFormat): string {
  if (f.quiet) return '{{.ID}}';
  if (f.format === '' || f.format === 'table') return f.defaultTable;
  if (f.format === 'json') return '{{json .}}';
  if (f.format === 'raw') return f.defaultTable.replace(/^table /, '');
  return f.format;
}

/** Template text with the escapes Docker expands (\t, \n) before parsing. */
function unescape(text: string): string {
  return text.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** Parses a --format template; errors keep Go's wording under Docker's prefix. */
export function parseTemplate(text: string, prefix = 'failed to parse template'): Template {
  try {
    return Template.parse(unescape(text), templateFuncs());
  } catch (e) {
    if (e instanceof TemplateError) throw new TemplateError(`${prefix}: ${e.message}`, 'parse');
    throw e;
  }
}

/** Renders `rows` (FieldSources or plain objects) in the list format. */
export function renderList(f: ListFormat, rows: unknown[]): string {
  const full = expandFormat(f);
  const isTable = full.startsWith('table');
  const tmpl = parseTemplate(isTable ? full.replace(/^table\s*/, '') : full);
  let out = '';
  try {
    if (isTable) out += `${tmpl.execute(new HeaderSource(f.headers))}\n`;
    for (const r of rows) out += `${tmpl.execute(r)}\n`;
  } catch (e) {
    if (e instanceof TemplateError) throw new TemplateError(`failed to execute template: ${e.message}`, 'exec');
    throw e;
  }
  return isTable ? tabwrite(out) : out;
}
