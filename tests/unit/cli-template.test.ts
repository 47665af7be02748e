/**
 * The --format template engine against outputs the docker CLI 28 gives for
 * the same templates (recorded against a real dockerd on this machine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templateFuncs } from '../../src/cli/format/funcs.js';
import { parseTemplate, renderList } from '../../src/cli/format/render.js';
import { Template, TemplateError } from '../../src/cli/format/template.js';
import { CONTAINER_HEADERS, ContainerContext, DEFAULT_PS_TABLE, type ContainerSummary } from '../../src/cli/format/contexts.js';

const inspect = {
  Id: '023f9a42d2b547986628de4bb4cdbbcdc0140582ef9214c684a27ec9a8f8e507',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 25979, ExitCode: 0 },
  Config: { Cmd: ['httpd', '-f', '-p', '80'], Env: ['PATH=/bin'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
  HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8089' }] }, Memory: 0, Ulimits: null, LogConfig: { Type: 'json-file', Config: {} } },
  NetworkSettings: { Networks: { bridge: { IPAMConfig: null, IPAddress: '10.213.238.2' } } },
  Mounts: [],
};

const run = (t: string, dot: unknown = inspect): string => Template.parse(t, templateFuncs()).execute(dot);

test('fields, nested fields and Go value printing', () => {
  assert.equal(run('{{.State.Pid}} {{.Config.Labels}} {{.HostConfig.PortBindings}} {{.Config.Cmd}}'),
    '25979 map[a:b] map[80/tcp:[{127.0.0.1 8089}]] [httpd -f -p 80]');
  assert.equal(run('{{.NetworkSettings.Networks.bridge.IPAMConfig}} {{.HostConfig.Memory}} {{.State.Running}}'), '<nil> 0 true');
  assert.equal(run('{{.Config.ExposedPorts}} {{.HostConfig.LogConfig.Config}} {{.Mounts}}'), 'map[80/tcp:{}] map[] []');
  assert.equal(run('{{.State.Status}}'), 'running');
});

test('json, index, printf, len, join, split, title, truncate, upper, lower, pad', () => {
  assert.equal(run('{{json .Config.Labels}} {{index .Config.Labels "a"}} {{len .Config.Cmd}} {{join .Config.Cmd ","}}'), '{"a":"b"} b 4 httpd,-f,-p,80');
  assert.equal(run('{{printf "%q|%5s|%-4d|%v" .Name "x" 3 .Config.Cmd}}'), '"/web"|    x|3   |[httpd -f -p 80]');
  assert.equal(run('{{title "hello world"}} {{split "a,b" ","}} {{truncate "abcdef" 3}}'), 'Hello World [a b] abc');
  assert.equal(run('{{upper "x"}}{{lower "X"}} {{pad "x" 1 2}}|'), 'Xx  x  |');
  assert.equal(run('{{println "a" 1}}{{print "a" 1 2 "b"}}'), 'a 1\na1 2b');
  assert.equal(run('{{json .State}}'), '{"Status":"running","Running":true,"Pid":25979,"ExitCode":0}');
  assert.equal(run('{{json "<a&b>"}}'), '"\\u003ca\\u0026b\\u003e"');
  assert.equal(run('{{.Name | printf "%s!"}} {{"abc" | upper | lower}}'), '/web! abc');
  assert.equal(run('{{(index .Config.Cmd 0) | upper}}'), 'HTTPD');
});

test('range, if/else if/else, with, variables and trim markers', () => {
  assert.equal(run('{{range .Config.Env}}[{{.}}]{{end}} {{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}'), '[PATH=/bin] a=b');
  assert.equal(run('{{if .State.Running}}up{{else}}down{{end}} {{- " trimmed " -}} x {{with .Config.Labels}}{{.a}}{{end}}'), 'up trimmed x b');
  assert.equal(run('{{if eq .State.ExitCode 1}}one{{else if eq .State.ExitCode 0}}zero{{else}}other{{end}}'), 'zero');
  assert.equal(run('{{range $i, $c := .Config.Cmd}}{{if $i}},{{end}}{{$i}}:{{$c}}{{end}}'), '0:httpd,1:-f,2:-p,3:80');
  assert.equal(run('{{range .Mounts}}m{{else}}none{{end}}'), 'none');
  assert.equal(run('{{$n := .Name}}{{range .Config.Env}}{{$n}}{{end}}{{/* a comment */}}'), '/web');
  assert.equal(run('a  {{- /* gone */ -}}  b'), 'ab');
  assert.equal(run('{{range .Config.Cmd -}}\n  {{.}}\n{{- end}}'), 'httpd-f-p80');
  assert.equal(run('{{$.Name}}{{with .State}}{{$.Name}}{{.Pid}}{{end}}'), '/web/web25979');
});

test('errors keep Go and docker wording', () => {
  const parseError = (t: string): string => {
    try { Template.parse(t, templateFuncs()); } catch (e) { assert.ok(e instanceof TemplateError); return e.message; }
    return 'parsed';
  };
  assert.equal(parseError('{{.ID'), 'template: :1: unclosed action');
  assert.equal(parseError('{{foo .ID}}'), 'template: :1: function "foo" not defined');
  assert.equal(parseError('{{if .A}}x'), 'template: :1: unexpected EOF');
  assert.equal(parseError('x{{end}}'), 'template: :1: unexpected {{end}}');
  assert.match(parseError('{{template "x"}}'), /not supported/);
  assert.throws(() => run('{{.Foo}}'), { message: 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"' });
  assert.throws(() => run('{{.State.Health.Status}}'), /map has no entry for key "Health"/);
  assert.throws(() => parseTemplate('{{.ID'), { message: 'failed to parse template: template: :1: unclosed action' });
});

const summary: ContainerSummary = {
  Id: 'ba27a4c79c6b8efa452a534992cb6df3f8f93a226751e0020c6df1de00534aa8', Names: ['/ex3'], Image: 'berth-e2e',
  Command: "sh -c 'echo hi; exit 3'", Created: 1_000_000, Ports: [], Labels: {}, State: 'exited', Status: 'Exited (3) 5 seconds ago',
  NetworkSettings: { Networks: { bridge: {} } }, Mounts: [],
};
const web: ContainerSummary = {
  ...summary, Id: '023f9a42d2b547986628de4bb4cdbbcdc0140582ef9214c684a27ec9a8f8e507', Names: ['/web'], Command: 'httpd -f -p 80',
  Ports: [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8089, Type: 'tcp' }], Labels: { a: 'b' }, State: 'running', Status: 'Up 6 minutes', Created: 1_000_001,
};
const now = 1_000_005_000;

test('ps table: docker headers, tabwriter padding, truncated IDs and commands', () => {
  const rows = [summary, web].map((c) => new ContainerContext(c, true, now));
  assert.equal(renderList({ format: '', defaultTable: DEFAULT_PS_TABLE, headers: CONTAINER_HEADERS }, rows), [
    'CONTAINER ID   IMAGE       COMMAND                  CREATED         STATUS                     PORTS                    NAMES',
    'ba27a4c79c6b   berth-e2e   "sh -c \'echo hi; exi…"   5 seconds ago   Exited (3) 5 seconds ago                            ex3',
    '023f9a42d2b5   berth-e2e   "httpd -f -p 80"         4 seconds ago   Up 6 minutes               127.0.0.1:8089->80/tcp   web',
    '',
  ].join('\n'));
  assert.equal(renderList({ format: 'table {{.Names}}\\t{{.State}}\\t{{.Label "a"}}', defaultTable: DEFAULT_PS_TABLE, headers: CONTAINER_HEADERS }, rows),
    'NAMES     STATE     a\nex3       exited    \nweb       running   b\n');
  assert.equal(renderList({ format: '', quiet: true, defaultTable: DEFAULT_PS_TABLE, headers: CONTAINER_HEADERS }, rows), 'ba27a4c79c6b\n023f9a42d2b5\n');
  const noTrunc = renderList({ format: '{{.ID}} {{.Command}}', defaultTable: DEFAULT_PS_TABLE, headers: CONTAINER_HEADERS }, [new ContainerContext(summary, false, now)]);
  assert.equal(noTrunc, `${summary.Id} "sh -c 'echo hi; exit 3'"\n`);
});

test('ps {{json .}} has every field, sorted, Go-escaped', () => {
  const out = renderList({ format: '{{json .}}', defaultTable: DEFAULT_PS_TABLE, headers: CONTAINER_HEADERS }, [new ContainerContext(web, true, now)]);
  const j = JSON.parse(out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
  assert.match(out, /"Ports":"127\.0\.0\.1:8089-\\u003e80\/tcp"/);
  assert.throws(() => renderList({ format: '{{.Foo}}', defaultTable: '', headers: {} }, [new ContainerContext(web, true, now)]),
    { message: 'failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext' });
});
