// Judges a traffic claim (claims.ts) against the client's summaries. Like the stage check it
// is pure, summaries in and a verdict out, and it waits for evidence: a verdict needs the
// claim's `windows` in a row and `calls`; the caller owns time and says when it is up.
// Only windows that began at or after `since` (the section's start, or its last apply) count.

import { binomialBound, pct } from '../../lib/shares.ts';
import { errorCount, type Summary } from '../../lib/summary.ts';
import type { Workload } from '../../lib/topology.ts';
import type { Claim, ErrorsClaim, GroupName, PinnedClaim, SpreadClaim } from './claims.ts';
import { errorList } from './error-list.ts';

/** One decided check of any kind, as the UI, the report and the JUnit file show it. */
export interface CheckVerdict {
  /** e.g. "pinned", "spread", "stage 95/5" */
  name: string;
  ok: boolean;
  /** The one line printed after ✓ or ✗, naming expected and observed. */
  line: string;
  /** Calls the verdict rests on. */
  n: number;
}

export interface ClaimCheck {
  feed(s: Summary): CheckVerdict | undefined;
  timeout(timeoutMs: number): CheckVerdict;
}

/** The server pods the manifests declare: a Deployment per version, its replicas. */
export interface Fleet {
  deployments: Array<{ name: string; version: string; replicas: number }>;
}

export function fleetOf(workloads: readonly Workload[]): Fleet {
  return {
    deployments: workloads
      .filter((w) => w.labels.version)
      .map((w) => ({ name: w.name, version: w.labels.version!, replicas: w.replicas }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** A pod's Deployment: the longest Deployment name followed by '-' that starts the pod's name. */
export function deploymentOf(fleet: Fleet, pod: string): Fleet['deployments'][number] | undefined {
  let best: Fleet['deployments'][number] | undefined;
  for (const d of fleet.deployments) if (pod.startsWith(`${d.name}-`) && (!best || d.name.length > best.name.length)) best = d;
  return best;
}

/** The z of the bounds below, as for the stage shares (lib/shares.ts binomialBound). */
const Z = 4;

export interface ClaimContext {
  fleet: Fleet;
  /** epoch ms: windows that began before do not count */
  since: number;
  /** the section allows errors (allow-errors=true): the shares claim does not fail on them */
  allowErrors: boolean;
}

export function claimCheck(claim: Claim, ctx: ClaimContext): ClaimCheck {
  switch (claim.kind) {
    case 'pinned':
      return pinnedCheck(claim, ctx);
    case 'spread':
      return spreadCheck({ ...claim, calls: claim.calls ?? 100 }, ctx);
    case 'errors':
      return inGroup(claim.group, errorsCheck({ ...claim, calls: claim.calls ?? errorsCalls(claim.rate) }, ctx));
    case 'shares':
      throw new Error('shares claims are checked by stage-check.ts');
  }
}

const inWindow = (s: Summary, since: number) => Date.parse(s.ts) - s.intervalMs >= since;
const secs = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
const add = (to: Record<string, number>, from: Readonly<Record<string, number>>) => {
  for (const [k, n] of Object.entries(from)) if (n > 0) to[k] = (to[k] ?? 0) + n;
};
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k}=${n}`)
    .join(', ');
const totalPods = (fleet: Fleet) => fleet.deployments.reduce((n, d) => n + d.replicas, 0);

/**
 * The fewest calls that show a client is pinned: a client balancing over m pods puts n calls
 * all on one pod with probability m * m^-n = m^(1-n); the smallest n that makes it < 1/1000
 * (6 pods: 5 calls). One pod (or none known): 1.
 */
export function pinnedCalls(m: number, significance = 1e-3): number {
  if (m <= 1) return 1;
  return Math.floor(1 + Math.log(1 / significance) / Math.log(m)) + 1;
}

function pinnedCheck(claim: PinnedClaim, ctx: ClaimContext): ClaimCheck {
  const need = claim.calls ?? pinnedCalls(totalPods(ctx.fleet));
  const pods: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let windows = 0;
  const of = `of ${totalPods(ctx.fleet)} pods`;
  const failedNote = () => (failed ? `, ${failed} failed` : '');
  return {
    feed(s) {
      if (!inWindow(s, ctx.since)) return undefined;
      windows++;
      ok += s.ok;
      failed += errorCount(s);
      add(pods, s.byPod);
      const names = Object.keys(pods);
      if (names.length > 1) {
        return { name: 'pinned', ok: false, n: ok, line: `pinned: FAILED, expected every call of the ${claim.client} client on one pod, observed ${names.length} ${of} (${list(pods)}) (n=${ok}${failedNote()})` };
      }
      if (windows >= claim.windows && ok >= need && names.length === 1) {
        return { name: 'pinned', ok: true, n: ok, line: `pinned: ${ok} calls, all on ${names[0]} (1 ${of})${failedNote()}` };
      }
      return undefined;
    },
    timeout(ms) {
      const seen = Object.keys(pods).length ? `all on ${Object.keys(pods)[0]}` : 'no successful call';
      return {
        name: 'pinned',
        ok: false,
        n: ok,
        line: `pinned: FAILED, expected ${need} calls of the ${claim.client} client on one pod in ${claim.windows} window${claim.windows > 1 ? 's' : ''}, observed ${ok} calls in ${windows} windows (${seen}${failedNote()}): not enough within ${secs(ms)}`,
      };
    },
  };
}

/**
 * The fewest calls a pod may get of `n` shared by `m` pods before it counts as starved. The
 * balancers here (the local proxy's and Linkerd's) weigh pods by their latency (EWMA), so even
 * shares are not promised: a pod counts as starved when it got less than half a fair share
 * beyond chance, the binomial lower bound n q - z sqrt(n q (1-q)) with q = 1/(2m), and never
 * less than one call. (A fair share's own bound, q = 1/m, failed real local walks on a busy
 * machine: 45/37/18 % with n=119 is a healthy proxy favouring its two fastest pods.)
 */
export function starvationFloor(n: number, m: number, z = Z): number {
  const q = 1 / (2 * m);
  return Math.max(1, Math.floor(n * q - z * Math.sqrt(n * q * (1 - q))));
}

function spreadCheck(claim: SpreadClaim & { calls: number }, ctx: ClaimContext): ClaimCheck {
  const named = new Set(claim.versions);
  const allVersions = [...new Set(ctx.fleet.deployments.map((d) => d.version))].sort();
  const others = allVersions.filter((v) => !named.has(v));
  let streak: Summary[] = [];
  let last: { observed: string; reason: string } | undefined;

  /** What the calls show, in the verdict's words: `server-v1 3 of 3 pods (35/33/32 %), no v2`. */
  const observe = (windows: Summary[]) => {
    const byPod: Record<string, number> = {};
    const byVersion: Record<string, number> = {};
    for (const w of windows) {
      add(byPod, w.byPod);
      add(byVersion, w.byVersion);
    }
    const n = Object.values(byVersion).reduce((a, b) => a + b, 0);
    const parts: string[] = [];
    let reason: string | undefined;
    let stray: string | undefined;
    for (const v of claim.versions) {
      const deps = ctx.fleet.deployments.filter((d) => d.version === v);
      if (deps.length === 0) {
        reason ??= `no Deployment in the manifests has version ${v}`;
        parts.push(`${v} (no Deployment)`);
        continue;
      }
      const want = deps.reduce((a, d) => a + d.replicas, 0);
      const pods = Object.entries(byPod).filter(([p]) => deploymentOf(ctx.fleet, p)?.version === v);
      const nv = pods.reduce((a, [, c]) => a + c, 0);
      pods.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      const shares = pods.map(([, c]) => Math.round((100 * c) / Math.max(1, nv))).join('/');
      parts.push(`${deps.map((d) => d.name).join('+')} ${pods.length} of ${want} pods${pods.length ? ` (${shares} %)` : ''}`);
      if (pods.length < want) reason ??= `${want - pods.length} of the ${want} ${v} pods got no calls`;
      const floor = starvationFloor(nv, Math.max(want, pods.length));
      const starved = pods.find(([, c]) => c < floor);
      if (starved) reason ??= `${starved[0]} got ${starved[1]} of ${nv} ${v} calls, fewer than the ${floor} that half a fair share allows (z=${Z})`;
    }
    for (const v of [...new Set([...others, ...Object.keys(byVersion).filter((x) => !named.has(x))])].sort()) {
      const c = byVersion[v] ?? 0;
      parts.push(c ? `${v} ${c} calls` : `no ${v}`);
      // Calls to another version come first: they are what the claim is most about.
      if (c) reason = stray ??= `${v} got ${c} calls, expected none`;
    }
    return { n, observed: `${parts.join(', ')} (n=${n})`, ...(reason ? { reason } : {}) };
  };
  const expected = `every pod of ${claim.versions.join(', ')} gets calls, none starved${others.length ? `, no ${others.join(', ')}` : ''}`;

  return {
    feed(s) {
      if (!inWindow(s, ctx.since)) return undefined;
      const one = observe([s]);
      // A window with calls to another version breaks the run: it must not be averaged away.
      if (Object.entries(s.byVersion).some(([v, c]) => c > 0 && !named.has(v))) {
        streak = [];
        last = { observed: one.observed, reason: one.reason! };
        return undefined;
      }
      streak.push(s);
      for (let i = streak.length - claim.windows; i >= 0; i--) {
        const run = streak.slice(i);
        const o = observe(run);
        if (o.n < claim.calls) continue;
        if (o.reason) {
          last = { observed: o.observed, reason: o.reason };
          return undefined;
        }
        return { name: 'spread', ok: true, n: o.n, line: `spread: ${o.observed}` };
      }
      return undefined;
    },
    timeout(ms) {
      const o = last ?? (streak.length ? { ...observe(streak), reason: 'too few calls' } : { observed: 'no calls (n=0)', reason: 'no traffic observed' });
      return { name: 'spread', ok: false, n: 0, line: `spread: FAILED, expected ${expected}, observed ${o.observed}: did not hold within ${secs(ms)}: ${o.reason}` };
    },
  };
}

/**
 * Failed calls by version, if the summary says (another change adds the field to
 * lib/summary.ts): either version -> count or version -> {code -> count}. Absent: undefined.
 */
export function errorsByVersion(s: Summary): Record<string, number> | undefined {
  const raw = (s as Summary & { errorsByVersion?: unknown }).errorsByVersion;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const res: Record<string, number> = {};
  for (const [v, x] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof x === 'number') res[v] = x;
    else if (typeof x === 'object' && x !== null) res[v] = Object.values(x).reduce((a: number, c) => a + (typeof c === 'number' ? c : 0), 0);
  }
  return res;
}

/**
 * The fewest calls for an errors claim. With a rate p, the failed share of n calls is binomial
 * (each call fails with probability p: for `from=v2`, v2's share times its fault rate), and the
 * claim holds within p ± z sqrt(p (1-p) / n). Below n = z² (1-p) / p that bound is wider than p
 * itself, so a run with no failure at all would pass: the claim waits for the smallest n above
 * it (p = 2.5 %: 625 calls). Without a rate, 100.
 */
export function errorsCalls(rate: number | undefined, z = Z): number {
  if (rate === undefined) return 100;
  return Math.max(100, Math.floor((z * z * (1 - rate)) / rate) + 1);
}

/**
 * A summary as one group of its calls shows it (Summary.groups: with the client's header, or
 * without): counts per version and failures per version; the group has no codes or pods, so its
 * failures count under `failed`. Undefined when the summary carries no groups.
 */
export function groupSummary(s: Summary, group: GroupName): Summary | undefined {
  const g = s.groups?.[group];
  if (!g) return undefined;
  const failed = g.total - g.ok;
  const { errorsByVersion: _v, errorsByPod: _p, groups: _g, ...rest } = s;
  return {
    ...rest,
    total: g.total,
    ok: g.ok,
    byVersion: g.byVersion,
    byPod: {},
    errors: failed > 0 ? { failed } : {},
    ...(g.errorsByVersion ? { errorsByVersion: g.errorsByVersion } : {}),
  };
}

/**
 * A check judged on one group of the calls only (no group: the check itself). Summaries
 * without groups (a client without HEADER_SHARE) are passed over, and a timeout with none of
 * them says so. Its name and line carry the group: `shares group=header 0/100: ...`.
 */
export function inGroup(group: GroupName | undefined, check: ClaimCheck): ClaimCheck {
  if (!group) return check;
  let grouped = 0;
  const tag = (v: CheckVerdict): CheckVerdict => ({ ...v, name: `${v.name} group=${group}`, line: v.line.replace(/^(\S+?)(:| )/, `$1 group=${group}$2`) });
  return {
    feed(s) {
      const g = groupSummary(s, group);
      if (!g) return undefined;
      grouped++;
      const v = check.feed(g);
      return v && tag(v);
    },
    timeout(ms) {
      const v = tag(check.timeout(ms));
      return grouped ? v : { ...v, line: `${v.line} (no summary line counted calls by group: is the client's HEADER_SHARE above 0?)` };
    },
  };
}

function errorsCheck(claim: ErrorsClaim & { calls: number }, ctx: ClaimContext): ClaimCheck {
  let calls = 0;
  let failed = 0;
  let windows = 0;
  let attributed = true;
  const codes: Record<string, number> = {};
  const byVersion: Record<string, number> = {};
  let last: string | undefined;
  const expected = claim.from === undefined ? 'no failed calls' : `failed calls only from ${claim.from}${claim.rate !== undefined ? ` at ${pct(claim.rate)}` : ''}`;
  const observed = () =>
    `${failed} failed of ${calls} calls${calls ? ` (${pct(failed / calls)})` : ''}${failed ? `: ${errorList(codes)}` : ''}${Object.keys(byVersion).length ? `, by version ${list(byVersion)}` : ''}${failed && !attributed ? ' (not reported by version: only the total is checked)' : ''}`;
  const fail = (why: string): CheckVerdict => ({ name: 'errors', ok: false, n: calls, line: `errors: FAILED, expected ${expected}, observed ${observed()}${why ? `: ${why}` : ''}` });
  return {
    feed(s) {
      if (!inWindow(s, ctx.since)) return undefined;
      windows++;
      calls += s.total;
      const k = errorCount(s);
      failed += k;
      add(codes, s.errors);
      const by = errorsByVersion(s);
      if (by) add(byVersion, by);
      else if (k > 0) attributed = false;
      if (claim.from === undefined && failed > 0) return fail('');
      const stray = Object.entries(byVersion).find(([v, c]) => c > 0 && v !== claim.from);
      if (stray) return fail(`${stray[1]} from ${stray[0]}`);
      if (windows < claim.windows || calls < claim.calls) return undefined;
      if (claim.rate !== undefined) {
        const q = failed / calls;
        const bound = binomialBound(claim.rate, calls);
        if (Math.abs(q - claim.rate) > bound) {
          last = `${pct(q)} is outside ${pct(claim.rate)} ± ${pct(bound)} for n=${calls}`;
          return undefined;
        }
      }
      const line =
        claim.from === undefined
          ? `errors: none in ${calls} calls`
          : `errors: ${observed()}, expected ${expected}${claim.rate !== undefined ? ` ± ${pct(binomialBound(claim.rate, calls))}` : ''}`;
      return { name: 'errors', ok: true, n: calls, line };
    },
    timeout(ms) {
      return fail(`did not hold within ${secs(ms)}: ${last ?? (calls ? 'too few calls' : 'no traffic observed')}`);
    },
  };
}
