/** Runs at most n of the given jobs at a time; resolves with their results in order, rejects with the first failure. */
export async function runLimited<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < jobs.length) {
      const i = next++;
      try { results[i] = await jobs[i]!(); } catch (err) { failed = true; throw err; }
    }
  };
  const workers = Array.from({ length: Math.min(n, jobs.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (bad) throw bad.reason;
  return results;
}
