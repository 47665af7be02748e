/**
 * The oracle: what every answer to a hostile request must look like. A
 * 4xx (or the documented 501) with a JSON {"message"} naming the problem;
 * a 5xx for input the client got wrong, a missing answer or a hang is a
 * defect. Successes are allowed (a mutation may still be valid).
 */
import type { FuzzCase } from './cases.js';
import type { Outcome, Response } from './wire.js';

/** Letters only, lowercase: "RestartPolicy.Name" is named by "restart policy" as well. */
function squash(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The message names a part of the field's path, or a word of it ("IPv6" for EnableIPv6). */
function names(message: string, field: string): boolean {
  const m = squash(message);
  const words = field.split('.').flatMap((part) => [part, ...part.split(/(?<=[a-z0-9])(?=[A-Z])/).filter((w) => w.length >= 4)]);
  return words.some((w) => m.includes(squash(w)));
}

function checkError(r: Response, c: FuzzCase): string | undefined {
  if (c.head) return undefined;
  let doc: unknown;
  try { doc = JSON.parse(r.body.toString('utf8')); } catch {
    return `status ${r.status} without a JSON body: ${JSON.stringify(r.body.toString('utf8').slice(0, 200))}`;
  }
  const message = (doc as { message?: unknown } | null)?.message;
  if (typeof message !== 'string' || message.trim() === '') return `status ${r.status} without a message: ${r.body.toString('utf8').slice(0, 200)}`;
  if (r.status === 400 && c.mentions !== undefined && !c.mentions.some((f) => names(message, f))) {
    return `400 does not name the field ${c.mentions.join(' or ')}: ${message}`;
  }
  return undefined;
}

/** The defects of one case's outcome (empty: it passed). */
export function judge(c: FuzzCase, o: Outcome): string[] {
  const problems: string[] = [];
  for (const r of o.responses.slice(0, Math.max(c.expect, 1))) {
    // a registry the case names on purpose (127.0.0.1:1) is down: that is the registry's failure, not the request's
    if (c.upstream === true && r.status >= 502 && r.status <= 504) continue;
    if (r.status >= 500 && r.status !== 501) problems.push(`status ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
    else if (r.status >= 400) { const p = checkError(r, c); if (p) problems.push(p); }
  }
  if (c.expect > 0 && o.responses.length < c.expect) {
    if (o.timedOut) { if (c.mayBlock !== true) problems.push(`no answer within ${o.elapsedMs} ms (${o.responses.length}/${c.expect} responses)`); }
    else if (!c.mayClose) problems.push(`connection closed after ${o.responses.length}/${c.expect} responses`);
  }
  return problems;
}
