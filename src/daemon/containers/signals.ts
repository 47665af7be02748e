/** Signals as the API names them: "SIGTERM", "TERM", "term", "15". */
import { constants } from 'node:os';
import { invalidArgument } from '../../common/errors.js';

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  const t = text.trim();
  if (/^[0-9]+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 64) throw invalidArgument(`Invalid signal: ${text}`);
    return n;
  }
  const name = t.toUpperCase().startsWith('SIG') ? t.toUpperCase() : `SIG${t.toUpperCase()}`;
  const n = SIGNALS[name];
  if (n === undefined) throw invalidArgument(`Invalid signal: ${text}`);
  return n;
}

/** The signal's number as events show it ("15"). */
export const signalAttr = (n: number): string => String(n);

/**
 * Whether a kill with `sig` thaws a paused container (dockerd's rule): SIGKILL always; any signal
 * when the container names no stop signal; else only its stop signal. Another signal stays pending
 * in the frozen container.
 */
export function unpausesOnKill(sig: number, stopSignal: string | undefined): boolean {
  if (sig === 9 || !stopSignal) return true;
  try { return parseSignal(stopSignal) === sig; } catch { return false; }
}
