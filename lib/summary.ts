// The client's summary line: the contract between the client (which writes it) and the
// runner, the tutorial and the tests (which read it). Defined once, here.
//
// json: one object per line, see `Summary`.
// text: one readable line, e.g.
//   summary 2026-11-25T20:30:02.000Z 2000ms total=40 ok=40 | v1=38 (95.0%) v2=2 (5.0%) | errors=0 | p50=1.20ms p99=3.40ms
//   summary ... | errors=3 (UNAVAILABLE=2,DEADLINE_EXCEEDED=1) | ... | pods server-v1-a=20 server-v1-b=18
// then, only when there is something to say (so a line without them is the older format, and
// still reads back):
//   ... | failed by version v2=3 | failed by pod server-v2-a=3
//   ... | header total=10 ok=10 v2=10 | plain total=30 ok=27 v1=27 failed v2=3
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
  /**
   * Failed calls by the version their answer's trailers named (x-served-by-version), `unknown`
   * when there were none (the proxy's own errors, deadlines). Absent when no call failed.
   */
  errorsByVersion?: Record<string, number>;
  /** The same by pod (x-served-by-pod). Absent when no call failed. */
  errorsByPod?: Record<string, number>;
  /**
   * Present when the client sends its header on a share of calls (HEADER_SHARE): the calls
   * sent with it and the rest, counted apart, so a checker can hold each to its own route.
   */
  groups?: { header: GroupCounts; plain: GroupCounts };
  /** True on the last line a client prints before it exits. */
  final?: boolean;
}

/** One group of calls in an interval. */
export interface GroupCounts {
  total: number;
  ok: number;
  /** Server version -> successful calls. */
  byVersion: Record<string, number>;
  /** Server version -> failed calls (as Summary.errorsByVersion). Absent when none failed. */
  errorsByVersion?: Record<string, number>;
}

/** The version (or pod) a failed call is counted under when its answer named none. */
export const UNKNOWN_SERVER = 'unknown';

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
  const pods = countList(s.byPod);
  const failed = (s.errorsByVersion ? ` | failed by version ${countList(s.errorsByVersion)}` : '') + (s.errorsByPod ? ` | failed by pod ${countList(s.errorsByPod)}` : '');
  const groups = s.groups ? ` | header ${groupText(s.groups.header)} | plain ${groupText(s.groups.plain)}` : '';
  const tail = s.final ? ' final' : '';
  return `summary ${s.ts} ${s.intervalMs}ms total=${s.total} ok=${s.ok} | ${share} | ${errs} | p50=${s.latencyMs.p50.toFixed(2)}ms p99=${s.latencyMs.p99.toFixed(2)}ms | pods ${pods || '-'}${failed}${groups}${tail}`;
}

/** `a=1 b=2`, keys sorted; '' when empty. */
function countList(counts: Record<string, number>): string {
  return Object.keys(counts).sort().map((k) => `${k}=${counts[k]}`).join(' ');
}

function groupText(g: GroupCounts): string {
  return `total=${g.total} ok=${g.ok} ${countList(g.byVersion) || '-'}${g.errorsByVersion ? ` failed ${countList(g.errorsByVersion)}` : ''}`;
}

/** Read `a=1 b=2` back ('-' or '' is none). */
function readCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(' ')) {
    const eq = part.lastIndexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = Number(part.slice(eq + 1));
  }
  return out;
}

const GROUP_RE = /^total=(\d+) ok=(\d+) (.*?)(?: failed (.*))?$/;

function readGroup(text: string): GroupCounts | undefined {
  const m = GROUP_RE.exec(text);
  if (!m) return undefined;
  const g: GroupCounts = { total: Number(m[1]), ok: Number(m[2]), byVersion: readCounts(m[3]!) };
  if (m[4] !== undefined) g.errorsByVersion = readCounts(m[4]);
  return g;
}

const TEXT_RE =
  /summary (\S+) (\d+)ms total=(\d+) ok=(\d+) \| (.*?) \| errors=(\d+)(?: \(([^)]*)\))? \| p50=([\d.]+)ms p99=([\d.]+)ms \| pods (.*?)(?: \| failed by version (.*?))?(?: \| failed by pod (.*?))?(?: \| header (.*?) \| plain (.*?))?( final)?\s*$/;

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
  const byPod = readCounts(m[10]!);
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
  if (m[11] !== undefined) s.errorsByVersion = readCounts(m[11]);
  if (m[12] !== undefined) s.errorsByPod = readCounts(m[12]);
  if (m[13] !== undefined) {
    const header = readGroup(m[13]);
    const plain = readGroup(m[14]!);
    if (!header || !plain) return undefined;
    s.groups = { header, plain };
  }
  if (m[15]) s.final = true;
  return s;
}

function isCounts(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((n) => typeof n === 'number');
}

function isGroup(v: unknown): v is GroupCounts {
  if (typeof v !== 'object' || v === null) return false;
  const g = v as Record<string, unknown>;
  return typeof g.total === 'number' && typeof g.ok === 'number' && isCounts(g.byVersion) && (g.errorsByVersion === undefined || isCounts(g.errorsByVersion));
}

function isGroups(v: unknown): boolean {
  if (v === undefined) return true;
  return typeof v === 'object' && v !== null && isGroup((v as Record<string, unknown>).header) && isGroup((v as Record<string, unknown>).plain);
}

function isSummary(v: unknown): v is Summary {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const lat = o.latencyMs as Record<string, unknown> | undefined;
  return (
    (o.errorsByVersion === undefined || isCounts(o.errorsByVersion)) &&
    (o.errorsByPod === undefined || isCounts(o.errorsByPod)) &&
    isGroups(o.groups) &&
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
