// The client's summary line: the contract between the client (which writes it) and the
// runner, the tutorial and the tests (which read it). Defined once, here.
//
// json: one object per line, see `Summary`.
// text: one readable line, e.g.
//   summary 2026-11-25T20:30:02.000Z 2000ms total=40 ok=40 | v1=38 (95.0%) v2=2 (5.0%) | errors=0 | p50=1.20ms p99=3.40ms
//   summary ... | errors=3 (UNAVAILABLE=2,DEADLINE_EXCEEDED=1) | ... | pods server-v1-a=20 server-v1-b=18
// Both formats read back through `parseSummaryLine` to the same Summary.

export interface Summary {
  /** End of the interval, ISO 8601. */
  ts: string;
  /** Length of the interval in milliseconds. */
  intervalMs: number;
  /** Calls that completed in the interval (ok + errors). */
  total: number;
  ok: number;
  /** gRPC status name (e.g. UNAVAILABLE) -> count of calls that ended with it. */
  errors: Record<string, number>;
  /** Server version -> successful calls it answered. */
  byVersion: Record<string, number>;
  /** Server pod -> successful calls it answered. */
  byPod: Record<string, number>;
  /** Latency of completed calls in the interval, milliseconds. */
  latencyMs: { p50: number; p99: number };
  /** True on the last line a client prints before it exits. */
  final?: boolean;
}

export type LogFormat = 'text' | 'json';

export function errorCount(s: Pick<Summary, 'errors'>): number {
  return Object.values(s.errors).reduce((n, c) => n + c, 0);
}

export function formatSummary(s: Summary, format: LogFormat): string {
  return format === 'json' ? JSON.stringify(s) : formatText(s);
}

function pct(n: number, of: number): string {
  return of === 0 ? '0.0%' : `${((100 * n) / of).toFixed(1)}%`;
}

function formatText(s: Summary): string {
  const versions = Object.keys(s.byVersion).sort();
  const share = versions.length ? versions.map((v) => `${v}=${s.byVersion[v]} (${pct(s.byVersion[v]!, s.ok)})`).join(' ') : '-';
  const nErr = errorCount(s);
  const errs = nErr === 0 ? 'errors=0' : `errors=${nErr} (${Object.entries(s.errors).map(([k, v]) => `${k}=${v}`).join(',')})`;
  const pods = Object.keys(s.byPod).sort().map((p) => `${p}=${s.byPod[p]}`).join(' ');
  const tail = s.final ? ' final' : '';
  return `summary ${s.ts} ${s.intervalMs}ms total=${s.total} ok=${s.ok} | ${share} | ${errs} | p50=${s.latencyMs.p50.toFixed(2)}ms p99=${s.latencyMs.p99.toFixed(2)}ms | pods ${pods || '-'}${tail}`;
}

const TEXT_RE =
  /summary (\S+) (\d+)ms total=(\d+) ok=(\d+) \| (.*?) \| errors=(\d+)(?: \(([^)]*)\))? \| p50=([\d.]+)ms p99=([\d.]+)ms \| pods (.*?)( final)?\s*$/;

/**
 * Read one line back into a Summary, or undefined if the line is not a summary (other log
 * output, a kubectl prefix such as "[pod/client-x/client] " before it is allowed).
 */
export function parseSummaryLine(line: string): Summary | undefined {
  const brace = line.indexOf('{');
  if (brace >= 0) {
    try {
      const v = JSON.parse(line.slice(brace)) as unknown;
      return isSummary(v) ? v : undefined;
    } catch {
      // not JSON: maybe text
    }
  }
  const m = TEXT_RE.exec(line);
  if (!m) return undefined;
  const byVersion: Record<string, number> = {};
  if (m[5] !== '-') {
    for (const part of m[5]!.matchAll(/(\S+)=(\d+) \([\d.]+%\)/g)) byVersion[part[1]!] = Number(part[2]);
  }
  const errors: Record<string, number> = {};
  if (m[7]) {
    for (const kv of m[7].split(',')) {
      const [k, v] = kv.split('=');
      if (k && v) errors[k] = Number(v);
    }
  }
  const byPod: Record<string, number> = {};
  if (m[10] !== '-') {
    for (const part of m[10]!.split(' ')) {
      const eq = part.lastIndexOf('=');
      if (eq > 0) byPod[part.slice(0, eq)] = Number(part.slice(eq + 1));
    }
  }
  const s: Summary = {
    ts: m[1]!,
    intervalMs: Number(m[2]),
    total: Number(m[3]),
    ok: Number(m[4]),
    errors,
    byVersion,
    byPod,
    latencyMs: { p50: Number(m[8]), p99: Number(m[9]) },
  };
  if (m[11]) s.final = true;
  return s;
}

function isCounts(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((n) => typeof n === 'number');
}

function isSummary(v: unknown): v is Summary {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const lat = o.latencyMs as Record<string, unknown> | undefined;
  return (
    typeof o.ts === 'string' &&
    typeof o.intervalMs === 'number' &&
    typeof o.total === 'number' &&
    typeof o.ok === 'number' &&
    isCounts(o.errors) &&
    isCounts(o.byVersion) &&
    isCounts(o.byPod) &&
    typeof lat === 'object' && lat !== null &&
    typeof lat.p50 === 'number' &&
    typeof lat.p99 === 'number'
  );
}
