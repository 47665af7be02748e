/** The API fuzzer's oracle: what counts as a defect, and which generated cases may rightly block. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blocksByDesign, judge, nextCase, Rng, routeShapes, type FuzzCase, type Outcome } from '../helpers/api-fuzz/index.js';

const base: FuzzCase = { label: 'x', steps: [], expect: 1, mayClose: false };
const outcome = (o: Partial<Outcome>): Outcome => ({ responses: [], closed: false, timedOut: false, dropped: false, elapsedMs: 1, ...o });
const reply = (status: number, body: string) => ({ status, headers: new Map<string, string>(), body: Buffer.from(body), complete: true });

test('a hang is a defect unless the case may rightly block', () => {
  assert.equal(judge(base, outcome({ timedOut: true })).length, 1);
  assert.deepEqual(judge({ ...base, mayBlock: true }, outcome({ timedOut: true })), []);
  // blocking is allowed, a wrong answer is not
  assert.equal(judge({ ...base, mayBlock: true }, outcome({ responses: [reply(500, '{"message":"boom"}')] })).length, 1);
});

test('4xx answers need a JSON message naming the field', () => {
  assert.deepEqual(judge({ ...base, mentions: ['HostConfig.Memory'] }, outcome({ responses: [reply(400, '{"message":"invalid memory: -1"}')] })), []);
  assert.equal(judge({ ...base, mentions: ['HostConfig.Memory'] }, outcome({ responses: [reply(400, '{"message":"bad"}')] })).length, 1);
  assert.equal(judge(base, outcome({ responses: [reply(404, 'not json')] })).length, 1);
});

test('only a stop or restart with a valid grace period of 10 s or more is marked as blocking', () => {
  // the rule itself, on the shapes the generator makes
  assert.equal(blocksByDesign('/containers/{name}/stop', '/v1.41/containers/c1/stop?t=999'), true);
  assert.equal(blocksByDesign('/containers/{name}/restart', '/containers/c1/restart?signal=x&t=10'), true);
  assert.equal(blocksByDesign('/containers/{name}/stop', '/containers/c1/stop?t=9'), false);
  assert.equal(blocksByDesign('/containers/{name}/stop', '/containers/c1/stop?t=-5'), false);
  assert.equal(blocksByDesign('/containers/{name}/stop', '/containers/c1/stop'), false);
  assert.equal(blocksByDesign('/containers/{name}/wait', '/containers/c1/wait?t=999'), false);
  // and the generator marks nothing else (a rare case: its presence is not required of a sample)
  const r = new Rng(77);
  const routes = routeShapes();
  for (let i = 0; i < 3000; i++) {
    const c = nextCase(r, routes, { container: 'c1', network: 'n1', volume: 'v1', exec: 'e1' });
    if (c.mayBlock !== true) continue;
    const m = /\/(stop|restart)\?(?:.*&)?t=(\d+)(?:&|$| )/.exec(c.label);
    assert.ok(m && Number(m[2]) >= 10, c.label);
  }
});
