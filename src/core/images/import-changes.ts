/**
 * `--change` lines of `import`, read as the Dockerfile instructions they are
 * (CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME, HEALTHCHECK,
 * ONBUILD), applied to an image config's runtime part; `commit` takes the
 * same lines. Another instruction (STOPSIGNAL included, as dockerd 20.10
 * refuses it) is refused in dockerd's words (`run is not a valid change
 * command`). CMD and ENTRYPOINT take the
 * JSON (exec) form or the shell form (`/bin/sh -c …`); ENV and LABEL take
 * `k=v …` pairs (quotes allowed) or ENV's legacy `key value`.
 */
import { invalidArgument } from '../../common/errors.js';
import { healthcheckConfig, leadingFlags, parseHealthcheck } from '../../common/healthcheck.js';
import type { ContainerConfig } from '../oci/types.js';

const SHELL = ['/bin/sh', '-c'];

/** Words of a line, splitting on blanks outside quotes; quotes and backslashes removed. */
export function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { quote = c; has = true; }
    else if (c === '\\' && i + 1 < text.length) { cur += text[++i]; has = true; }
    else if (/\s/.test(c)) { if (has || cur !== '') out.push(cur); cur = ''; has = false; }
    else { cur += c; has = true; }
  }
  if (quote !== '') throw invalidArgument(`unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (has || cur !== '') out.push(cur);
  return out;
}

/** A JSON array of strings, or undefined when text is not one (the shell form). */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* not JSON: the shell form, as Docker reads it */ }
  return undefined;
}

const command = (text: string): string[] => jsonArray(text) ?? [...SHELL, text];

/** `k=v k2="v 2"` pairs; for ENV, also the legacy `key value…` form. */
function pairs(text: string, instr: string, legacy: boolean): [string, string][] {
  const ws = words(text);
  if (ws.length === 0) throw invalidArgument(`${instr} requires at least one argument`);
  if (!ws[0]!.includes('=')) {
    if (!legacy) throw invalidArgument(`${instr} ${text}: expected key=value`);
    const m = /^(\S+)\s+(.*)$/s.exec(text.trim());
    if (!m) throw invalidArgument(`${instr} ${text}: expected key=value or key value`);
    return [[m[1]!, m[2]!]];
  }
  return ws.map((w) => {
    const at = w.indexOf('=');
    if (at <= 0) throw invalidArgument(`${instr} ${text}: ${JSON.stringify(w)} is not key=value`);
    return [w.slice(0, at), w.slice(at + 1)];
  });
}

function setEnv(c: ContainerConfig, key: string, value: string): void {
  const env = (c.Env ?? []).filter((e) => e.split('=')[0] !== key);
  env.push(`${key}=${value}`);
  c.Env = env;
}

function port(p: string): string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  if (!m) throw invalidArgument(`Invalid containerPort: ${p}`);
  return `${m[1]}${m[2] !== undefined ? `-${m[2]}` : ''}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

/** Applies one instruction line to c (in place). */
export function applyChange(c: ContainerConfig, line: string): void {
  const m = /^\s*([A-Za-z]+)\s*(.*?)\s*$/s.exec(line);
  if (!m) throw invalidArgument(`cannot read change ${JSON.stringify(line)}`);
  const instr = m[1]!.toUpperCase();
  const rest = m[2]!;
  const need = (): void => { if (rest === '') throw invalidArgument(`${instr} requires at least one argument`); };
  switch (instr) {
    case 'CMD': need(); c.Cmd = command(rest); break;
    case 'ENTRYPOINT': need(); c.Entrypoint = command(rest); break;
    case 'ENV': for (const [k, v] of pairs(rest, instr, true)) setEnv(c, k, v); break;
    case 'LABEL': c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(rest, instr, false)) }; break;
    case 'WORKDIR': need(); c.WorkingDir = rest.startsWith('/') ? rest : `${(c.WorkingDir ?? '/').replace(/\/$/, '')}/${rest}`; break;
    case 'USER': need(); c.User = rest; break;
    case 'HEALTHCHECK': {
      need();
      const { flags, rest: after } = leadingFlags(rest);
      c.Healthcheck = healthcheckConfig(parseHealthcheck(flags, after, jsonArray));
      break;
    }
    case 'EXPOSE': need(); c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(words(rest).map((p) => [port(p), {}])) }; break;
    case 'ONBUILD': need(); c.OnBuild = [...(c.OnBuild ?? []), rest]; break;
    case 'VOLUME': need(); c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries((jsonArray(rest) ?? words(rest)).map((v) => [v, {}])) }; break;
    default:
      throw invalidArgument(`${instr.toLowerCase()} is not a valid change command`);
  }
}

/** The config the changes make from base (not changed). */
export function applyChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const c: ContainerConfig = JSON.parse(JSON.stringify(base)) as ContainerConfig;
  for (const line of changes) applyChange(c, line);
  return c;
}
