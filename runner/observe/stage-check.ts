// Did a stage's split take effect? Watch the client's summaries after the apply: the stage has
// converged when k windows in a row each match the expected shares (lib/shares.ts), and so do
// the k together (a larger sample, so a tighter bound), and it
// fails on the first failed call (unless the document allows errors) or at the timeout.
// Pure: summaries in, a verdict out; the caller owns time and the traffic source.

import { checkShares, shareLabel } from '../../lib/shares.ts';
import { errorCount, type Summary } from '../../lib/summary.ts';
import { errorList } from './error-list.ts';

export interface StageExpectation {
  /** e.g. "95/5" */
  label: string;
  /** version -> share 0..1 */
  expected: Map<string, number>;
  /** epoch ms when the split was applied: only windows that start after it count for shares */
  appliedAt: number;
  /** epoch ms of the edit: failed calls in windows ending after it count against the stage */
  editedAt?: number;
  allowErrors: boolean;
}

export interface StageVerdict {
  label: string;
  ok: boolean;
  /** observed shares over the windows that decided, as a label in version order, e.g. "94.8/5.2" */
  observedLabel: string;
  observed: Record<string, number>;
  expected: Record<string, number>;
  n: number;
  /** ms from the apply to the end of the first window of the converged run */
  convergedMs?: number;
  errors: Record<string, number>;
  reason?: string;
}

export interface StageCheck {
  /** Feed one summary; returns the verdict once it is decided. */
  feed(s: Summary): StageVerdict | undefined;
  /** The verdict when time is up. */
  timeout(timeoutMs: number): StageVerdict;
}

export function stageCheck(exp: StageExpectation, k = 3, minCalls = 100): StageCheck {
  const versions = [...exp.expected.keys()].sort();
  const errors: Record<string, number> = {};
  let streak: Summary[] = [];
  let last: { observed: Map<string, number>; n: number; reason?: string } | undefined;

  const verdict = (ok: boolean, windows: Summary[], reason?: string): StageVerdict => {
    const agg = windows.length ? checkShares(exp.expected, sumByVersion(windows)) : last ?? { observed: new Map<string, number>(), n: 0 };
    const shown = [...new Set([...versions, ...agg.observed.keys()])].sort();
    const first = windows[0];
    return {
      label: exp.label,
      ok,
      observedLabel: shareLabel(agg.observed, shown),
      observed: Object.fromEntries(agg.observed),
      expected: Object.fromEntries(exp.expected),
      n: agg.n,
      ...(ok && first ? { convergedMs: Math.max(0, Date.parse(first.ts) - exp.appliedAt) } : {}),
      errors: { ...errors },
      ...(reason ? { reason } : {}),
    };
  };

  return {
    feed(s) {
      const end = Date.parse(s.ts);
      if (end <= (exp.editedAt ?? exp.appliedAt)) return undefined;
      const nErr = errorCount(s);
      for (const [code, c] of Object.entries(s.errors)) errors[code] = (errors[code] ?? 0) + c;
      if (nErr > 0 && !exp.allowErrors) {
        return verdict(false, streak, `${nErr} failed calls (${errorList(s.errors)})`);
      }
      if (end - s.intervalMs < exp.appliedAt) return undefined;
      const check = checkShares(exp.expected, s.byVersion);
      last = check;
      streak = check.ok ? [...streak, s] : [];
      // The shortest run of recent windows that is long enough to decide.
      for (let i = streak.length - k; i >= 0; i--) {
        const run = streak.slice(i);
        const counts = sumByVersion(run);
        const n = Object.values(counts).reduce((a, b) => a + b, 0);
        if (n < minCalls) continue;
        const together = checkShares(exp.expected, counts);
        const missing = [...exp.expected].find(([v, p]) => p > 0 && !counts[v]);
        if (!together.ok || missing) {
          last = { observed: together.observed, n, reason: together.reason ?? `${missing![0]} got no calls in ${n}` };
          return undefined;
        }
        return verdict(true, run);
      }
      return undefined;
    },
    timeout(timeoutMs) {
      return verdict(false, [], `did not converge within ${(timeoutMs / 1000).toFixed(0)} s${last?.reason ? `: ${last.reason}` : ': no traffic observed'}`);
    },
  };
}

function sumByVersion(windows: Summary[]): Record<string, number> {
  const res: Record<string, number> = {};
  for (const w of windows) for (const [v, c] of Object.entries(w.byVersion)) res[v] = (res[v] ?? 0) + c;
  return res;
}

/** One line per verdict, e.g. `stage 95/5: observed 94.8/5.2 (n=600), converged in 1.4 s, errors 0`. */
export function formatVerdict(v: StageVerdict): string {
  const nErr = errorCount(v);
  const errs = nErr === 0 ? 'errors 0' : `errors ${nErr} (${errorList(v.errors)})`;
  if (v.ok) return `stage ${v.label}: observed ${v.observedLabel} (n=${v.n}), converged in ${((v.convergedMs ?? 0) / 1000).toFixed(1)} s, ${errs}`;
  return `stage ${v.label}: FAILED, expected ${v.label}, observed ${v.observedLabel} (n=${v.n}), ${errs}: ${v.reason}`;
}
