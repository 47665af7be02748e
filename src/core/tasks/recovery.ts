/**
 * Recovery after a restart walks every task that was not stopped. Each one
 * may cost a shim's timeouts (a hung shim: seconds) or a runtime call (a dead
 * shim's cleanup), so they run concurrently, a bounded number at a time:
 * thirty dead shims cost about one timeout, not thirty, and a host with
 * hundreds of tasks does not start hundreds of runtime processes at once.
 */

/** Tasks recovered at the same time. */
export const RECOVERY_CONCURRENCY = 16;

/**
 * Runs fn on every item, at most `limit` at once, and resolves when all have
 * settled. A failing item is reported to onError and does not stop the others.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, onError: (item: T, err: unknown) => void): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try { await fn(item); } catch (err) { onError(item, err); }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
