/**
 * `context ls|use|create|inspect|rm`, over docker's context store.
 */
import { CliError, help, type CommandSpec } from '../command.js';
import { listContexts, currentContextName, defaultContext, readContext, removeContext, setCurrentContext, writeContext, type ContextMeta } from '../contextstore.js';
import { Context, type Getter } from '../format/contexts.js';
import { renderList } from '../format/render.js';
import { parseHost } from '../host.js';
import { indentJson } from './inspect.js';

class ContextRow extends Context {
  readonly goTypeName = '*formatter.ClientContext';
  constructor(private readonly m: ContextMeta, private readonly current: boolean) { super(); }
  protected getters(): Record<string, Getter> {
    return {
      Name: () => this.m.Name, Description: () => this.m.Metadata.Description ?? '', DockerEndpoint: () => this.m.Endpoints.docker?.Host ?? '',
      Current: () => this.current, Error: () => '',
    };
  }
}

const ls: CommandSpec = {
  names: ['context ls', 'context list'], usage: 'context ls [OPTIONS]', summary: 'List contexts', maxArgs: 0,
  flags: [{ name: 'format', type: 'string' }, { name: 'quiet', short: 'q', type: 'bool' }, help()],
  async run(ctx, o) {
    const current = currentContextName(ctx.env);
    const all = [defaultContext(ctx.env), ...listContexts(ctx.env)];
    const format = o.str('format');
    ctx.out(renderList({
      format: o.bool('quiet') ? '{{.Name}}' : format,
      defaultTable: 'table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}',
      headers: { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR', Current: '' },
    }, all.map((m) => new ContextRow(m, m.Name === current))));
    return 0;
  },
};

/** `--docker host=unix:///path[,skip-tls-verify=true]` → the endpoint. */
export function parseDockerEndpoint(spec: string): { Host: string; SkipTLSVerify: boolean } {
  const fields = Object.fromEntries(spec.split(',').filter(Boolean).map((kv) => { const eq = kv.indexOf('='); return [kv.slice(0, eq), kv.slice(eq + 1)]; }));
  const host = fields.host ?? '';
  if (!host) throw new CliError('unable to create docker endpoint config: docker endpoint "host" is required');
  parseHost(host);
  return { Host: host, SkipTLSVerify: fields['skip-tls-verify'] === 'true' };
}

const create: CommandSpec = {
  names: ['context create'], usage: 'context create [OPTIONS] CONTEXT', summary: 'Create a context', minArgs: 1, maxArgs: 1,
  flags: [{ name: 'description', type: 'string' }, { name: 'docker', type: 'string' }, { name: 'from', type: 'string' }, help()],
  async run(ctx, o) {
    const name = o.args[0]!;
    if (name === 'default') throw new CliError('"default" is a reserved context name');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/.test(name)) throw new CliError(`context name "${name}" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"`);
    if (listContexts(ctx.env).some((c) => c.Name === name)) throw new CliError(`context "${name}" already exists`);
    const endpoint = o.has('docker') ? parseDockerEndpoint(o.str('docker')) : readContext(ctx.env, o.str('from') || currentContextName(ctx.env)).Endpoints.docker!;
    writeContext(ctx.env, { Name: name, Metadata: { Description: o.str('description') || undefined }, Endpoints: { docker: endpoint } });
    ctx.out(`${name}\n`);
    ctx.err(`Successfully created context "${name}"\n`);
    return 0;
  },
};

const use: CommandSpec = {
  names: ['context use'], usage: 'context use CONTEXT', summary: 'Set the current docker context', minArgs: 1, maxArgs: 1, flags: [help()],
  async run(ctx, o) {
    const name = o.args[0]!;
    readContext(ctx.env, name);
    setCurrentContext(ctx.env, name);
    ctx.out(`${name}\n`);
    ctx.err(`Current context is now "${name}"\n`);
    return 0;
  },
};

const inspect: CommandSpec = {
  names: ['context inspect'], usage: 'context inspect [OPTIONS] [CONTEXT] [CONTEXT...]', summary: 'Display detailed information on one or more contexts',
  flags: [{ name: 'format', short: 'f', type: 'string' }, help()],
  async run(ctx, o) {
    const names = o.args.length > 0 ? o.args : [currentContextName(ctx.env)];
    const found = names.map((n) => readContext(ctx.env, n)).map((m) => ({ ...m, TLSMaterial: {}, Storage: { MetadataPath: m.Name === 'default' ? '<IN MEMORY>' : '', TLSPath: m.Name === 'default' ? '<IN MEMORY>' : '' } }));
    if (o.str('format')) ctx.out(renderList({ format: o.str('format'), defaultTable: '', headers: {} }, found));
    else ctx.out(`${indentJson(found)}\n`);
    return 0;
  },
};

const rm: CommandSpec = {
  names: ['context rm', 'context remove'], usage: 'context rm CONTEXT [CONTEXT...]', summary: 'Remove one or more contexts', minArgs: 1,
  flags: [{ name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    for (const name of o.args) {
      if (name === 'default') throw new CliError('default: context "default" cannot be removed');
      readContext(ctx.env, name);
      if (currentContextName(ctx.env) === name) {
        if (!o.bool('force')) throw new CliError(`${name}: context is in use, set -f flag to force remove`);
        setCurrentContext(ctx.env, 'default');
      }
      removeContext(ctx.env, name);
      ctx.out(`${name}\n`);
    }
    return 0;
  },
};

export const contextCommands: CommandSpec[] = [ls, use, create, inspect, rm];
