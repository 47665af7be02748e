/**
 * The classic builder's Dockerfile syntax and word substitution, as
 * dockerd 20.10 reads them (src/daemon/builder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/daemon/builder/dockerfile.js';
import { envMap, processWord, processWords } from '../../src/daemon/builder/expand.js';
import { parseDuration, parseStages, parseTrigger } from '../../src/daemon/builder/instructions.js';
import { goDuration, goQuoteList, goRune } from '../../src/daemon/builder/format.js';
import { BuildArgs } from '../../src/daemon/builder/build-args.js';
import { globMatch } from '../../src/daemon/builder/sources.js';
import { portKeys } from '../../src/daemon/builder/steps.js';
import { stagesToBuild } from '../../src/daemon/builder/builder.js';

test('continuations join lines as written, comments and empty lines inside are skipped', () => {
  const df = parseDockerfile('# a comment\nFROM bb:1\nRUN echo a && \\\n# inside\n\n    echo b\nrun  echo c\n');
  assert.deepEqual(df.lines.map((l) => [l.cmd, l.original, l.line]), [['from', 'FROM bb:1', 2], ['run', 'RUN echo a &&     echo b', 3], ['run', 'run  echo c', 7]]);
  assert.equal(df.lines[1]!.rest, 'echo a &&     echo b');
});

test('the escape directive changes the continuation character; directives stop at the first other line', () => {
  const df = parseDockerfile('# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n');
  assert.equal(df.escape, '`');
  assert.equal(df.lines[1]!.rest, 'dir c:\\   && echo');
  assert.equal(parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b').lines[1]!.rest, 'a  b');
  assert.throws(() => parseDockerfile('# escape=x\nFROM a'), /invalid ESCAPE/);
});

test('flags, JSON and shell forms, stages and names', () => {
  const p = parseStages('ARG V=1\nFROM --platform=linux/amd64 bb:${V} AS Build\nCOPY --chown=1:2 a b /d/\nCMD ["x", "y"]\nCMD x y\nFROM scratch\nCOPY --from=build /a /b\n');
  assert.equal(p.metaArgs.length, 1);
  assert.equal(p.stages.length, 2);
  assert.deepEqual(p.stages[0]!.from.ins, { kind: 'from', image: 'bb:${V}', as: 'build', platform: 'linux/amd64' });
  assert.deepEqual(p.stages[0]!.steps[0]!.ins, { kind: 'copy', sources: ['a', 'b'], dest: '/d/', from: undefined, chown: '1:2', json: false });
  assert.deepEqual(p.stages[0]!.steps[1]!.ins, { kind: 'cmd', command: { exec: ['x', 'y'] } });
  assert.deepEqual(p.stages[0]!.steps[2]!.ins, { kind: 'cmd', command: { shell: 'x y' } });
  assert.equal((p.stages[1]!.steps[0]!.ins as { from: string }).from, 'build');
  assert.deepEqual(stagesToBuild(p, 'build').map((s) => s.index), [0]);
  assert.throws(() => stagesToBuild(p, 'nope'), /failed to reach build target nope/);
  // an invalid JSON array is the shell form, as dockerd falls back
  assert.deepEqual(parseTrigger('RUN [not json').ins, { kind: 'run', command: { shell: '[not json' } });
});

test('dockerd\'s refusals: unknown instruction, heredocs, bad forms', () => {
  assert.throws(() => parseStages('FROM a\nFOO bar\n'), /^BerthError: dockerfile parse error line 2: unknown instruction: FOO$/);
  assert.throws(() => parseStages('FROM a\nRUN <<EOF\necho\nEOF\n'), /heredocs are not supported/);
  assert.throws(() => parseStages('FROM a\nCOPY onlyone\n'), /COPY requires at least two arguments/);
  assert.throws(() => parseStages('RUN x\nFROM a\n'), /no build stage in current context/);
  assert.throws(() => parseStages('FROM a b\n'), /FROM requires either one or three arguments/);
  assert.throws(() => parseStages('FROM a\nENV a=1 b\n'), /can't find = in "b"/);
  assert.throws(() => parseStages('FROM a\nONBUILD ONBUILD RUN x\n'), /Chaining ONBUILD/);
  assert.throws(() => parseStages('FROM a AS x\nFROM b AS x\n'), /duplicate stage name/);
  assert.throws(() => parseStages(''), /cannot be empty/);
});

test('ENV and LABEL: key=value words keep their quotes until expansion; the legacy form takes the rest', () => {
  const p = parseStages('FROM a\nENV A=1 B="x y" C=a\\ b\nENV LEG legacy value\nLABEL "k k"=v\n');
  assert.deepEqual(p.stages[0]!.steps.map((s) => (s.ins as { words: string[] }).words), [['A=1', 'B="x y"', 'C=a\\ b'], ['LEG=legacy value'], ['"k k"=v']]);
});

test('HEALTHCHECK: flags and forms', () => {
  const h = parseTrigger('HEALTHCHECK --interval=5s --retries=2 CMD wget -q x || exit 1').ins;
  assert.deepEqual(h, { kind: 'healthcheck', spec: { test: ['CMD-SHELL', 'wget -q x || exit 1'], interval: 5e9, timeout: 0, startPeriod: 0, retries: 2 } });
  assert.deepEqual(parseTrigger('HEALTHCHECK NONE').ins, { kind: 'healthcheck', spec: 'none' });
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('500ms'), 5e8);
});

test('substitution: $V, ${V}, defaults and alternatives, quotes and escapes', () => {
  const env = envMap(['A=x', 'E=', 'S=a b']);
  assert.equal(processWord('$A-${A}', env), 'x-x');
  assert.equal(processWord('${N:-dflt} ${E:-e} ${E-e} ${A:+alt} ${N:+alt}|', env), 'dflt e  alt |');
  assert.equal(processWord('${N:-${A}y}', env), 'xy');
  assert.equal(processWord('"$A" \'$A\' \\$A', env), 'x $A $A');
  assert.equal(processWord('"a \\"q\\" b"', env), 'a "q" b');
  assert.equal(processWord('$', env), '$');
  assert.equal(processWord('`$A', env, '`'), '$A');
  assert.throws(() => processWord('${N:?must be set}', env), /N: must be set/);
  assert.throws(() => processWord('"open', env), /double-quote/);
  assert.deepEqual(processWords('$S "c d" e', env), ['a', 'b', 'c d', 'e']);
  assert.deepEqual(processWords('"$S"', env), ['a b']);
});

test('build args: options over defaults, ENV shadows, builtins only when given, unused ones named', () => {
  const a = new BuildArgs(new Map([['WHO', 'you'], ['HTTP_PROXY', 'p'], ['UNUSED', '1']])).forStage();
  a.declare('WHO', 'world');
  a.declare('D', 'd');
  a.declare('NOVAL', undefined);
  assert.deepEqual(a.filterAllowed(['D=env']).sort(), [['HTTP_PROXY', 'p'], ['WHO', 'you']]);
  assert.equal(a.counts('HTTP_PROXY'), false);
  assert.equal(a.counts('WHO'), true);
  assert.deepEqual(a.unused(), ['UNUSED']);
});

test('Go formatting in history comments, globs, ports', () => {
  assert.equal(goQuoteList(['/bin/sh', '-c', 'echo "hi"']), '["/bin/sh" "-c" "echo \\"hi\\""]');
  assert.equal(goDuration(5e9), '5s');
  assert.equal(goDuration(90e9), '1m30s');
  assert.equal(goDuration(0), '0s');
  assert.equal(goRune(2), "'\\x02'");
  assert.equal(goRune(65), "'A'");
  assert.ok(globMatch('*.txt', 'a.txt'));
  assert.ok(!globMatch('*.txt', 'sub/a.txt'));
  assert.ok(globMatch('sub/[ab]?.txt', 'sub/a1.txt'));
  assert.deepEqual(portKeys('8000-8002/udp'), ['8000/udp', '8001/udp', '8002/udp']);
  assert.deepEqual(portKeys('80'), ['80/tcp']);
  assert.throws(() => portKeys('x'), /Invalid containerPort/);
});
