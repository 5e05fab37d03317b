// Watches a run: follows the client's summary lines, feeds the live view, checks each section
// that changed a split against the traffic it then sees, checks each section's traffic claims
// (claims.ts: pinned, spread, shares, errors), and writes the report at the end.
// It only listens to run events and answers the afterSection hook; it prints nothing itself.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expectedByVersion, shareLabel } from '../../lib/shares.ts';
import { splitLabel, type Split } from '../../lib/split.ts';
import type { Summary } from '../../lib/summary.ts';
import { readTopology, versionsByService, type Topology } from '../../lib/topology.ts';
import { ROOT } from '../../scripts/local-mesh/state.ts';
import type { Section } from '../document.ts';
import type { RunEvent } from '../events.ts';
import { claimCheck, fleetOf, inGroup, type CheckVerdict, type ClaimCheck } from './claim-checks.ts';
import type { Claim, SharesClaim } from './claims.ts';
import type { DirectFeed } from './direct-source.ts';
import { renderReport, type ReportCheck, type ReportStage } from './report.ts';
import { formatVerdict, stageCheck, type StageVerdict } from './stage-check.ts';
import type { TrafficSource } from './traffic-source.ts';

export interface ObserverOptions {
  source: TrafficSource;
  /** Folder whose deploy/ holds the Services that map backends to versions. */
  docDir: string;
  document: string;
  target: string;
  verifyTimeoutMs: number;
  /** windows in a row that must match */
  k?: number;
  minCalls?: number;
  reportFile?: string;
  /** A new summary arrived; `samples` is everything seen so far. */
  onTraffic?: (samples: readonly Summary[]) => void;
  /** A stage that cannot be checked. */
  onSkip?: (line: string) => void;
  /** A check (stage or claim) was decided. */
  onVerdict?: (line: string, verdict: CheckVerdict) => void;
  /** A check starts waiting for evidence. */
  onChecking?: (what: string) => void;
  /** Each section's traffic claims (documentClaims), validated before the run. */
  claims?: ReadonlyMap<Section, readonly Claim[]>;
  /** A new feed of the direct client's lines, opened for each section with a client=direct claim. */
  directFeed?: () => DirectFeed;
}

/** A check as the results (JUnit, report) record it. */
export interface CheckRecord extends ReportCheck {
  durationMs: number;
}

export interface Observer {
  listener: (e: RunEvent) => void;
  afterSection: (section: Section, splits: Split[], signal?: AbortSignal) => Promise<void>;
  /** Stop following traffic; write the report if one was asked for. Returns its path. */
  close(exitCode: number): Promise<string | undefined>;
  /** Every check decided so far, in order. */
  readonly checks: readonly CheckRecord[];
}

/** Summaries from one client, with whoever waits for the next one. */
interface Stream {
  samples: Summary[];
  waiter?: ((s: Summary) => void) | undefined;
}

export class StageCheckFailed extends Error {
  exitCode = 1;
}

/** Every manifest under `<dir>/deploy`, or the project's own when the document has none. */
export function serviceVersions(docDir: string): Map<string, string[]> {
  return versionsByService(deployTopology(docDir));
}

function deployTopology(docDir: string): Topology {
  const base = existsSync(join(docDir, 'deploy')) ? join(docDir, 'deploy') : join(ROOT, 'deploy');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(f)) files.push(p);
    }
  };
  walk(base);
  return readTopology(files);
}

export function createObserver(o: ObserverOptions): Observer {
  const meshed: Stream = { samples: [] };
  const samples = meshed.samples;
  const stages: ReportStage[] = [];
  const checks: CheckRecord[] = [];
  const startedAt = Date.now();
  // Per section: when it started, when its last stage edit happened, and when the block after
  // it (the apply) started, and where that edit stands.
  let sectionAt = Date.now();
  let editedAt: number | undefined;
  let appliedAt: number | undefined;
  let editLine: number | undefined;
  let topology: Topology | undefined;
  let versions: Map<string, string[]> | undefined;
  // The direct client's lines, for the section being run when it has client=direct claims.
  let direct: { stream: Stream; feed: DirectFeed } | undefined;

  o.source.start((s) => {
    samples.push(s);
    o.onTraffic?.(samples);
    meshed.waiter?.(s);
  });

  const stopDirect = async () => {
    const d = direct;
    direct = undefined;
    await d?.feed.stop();
  };

  const listener = (e: RunEvent) => {
    direct?.feed.listener?.(e);
    if (e.type === 'section-start') {
      sectionAt = Date.now();
      editedAt = undefined;
      appliedAt = undefined;
      editLine = undefined;
      void stopDirect();
      if (o.directFeed && (o.claims?.get(e.section) ?? []).some((c) => c.client === 'direct')) {
        const stream: Stream = { samples: [] };
        const feed = o.directFeed();
        direct = { stream, feed };
        feed.start((s) => {
          stream.samples.push(s);
          stream.waiter?.(s);
        });
      }
    } else if (e.type === 'stage-applied' && e.split) {
      editedAt = Date.now();
      appliedAt = undefined;
      editLine = e.line;
    } else if (e.type === 'block-start' && editedAt !== undefined && appliedAt === undefined && e.block.kind === 'run') {
      // The block after the edit is the one that applies it: the stage starts with it.
      appliedAt = Date.now();
    }
  };

  const afterSection = async (section: Section, splits: Split[], signal?: AbortSignal) => {
    const claims = o.claims?.get(section) ?? [];
    // A section that says which errors to expect lets its errors claim judge them.
    const errorsExpected = claims.some((c) => c.kind === 'errors' && c.from !== undefined);
    try {
      if (splits.length > 0) await checkStage(section, splits, errorsExpected, signal);
      for (const claim of claims) {
        if (signal?.aborted) return;
        await checkClaim(section, claim, errorsExpected, signal);
      }
    } finally {
      await stopDirect();
    }
  };

  const record = (section: Section, line: number, verdict: CheckVerdict, t0: number) => {
    checks.push({ section: section.title, name: verdict.name, where: `${o.document}:${line}`, ok: verdict.ok, line: verdict.line, durationMs: Date.now() - t0 });
    o.onVerdict?.(verdict.line, verdict);
    if (!verdict.ok) throw new StageCheckFailed(verdict.line);
  };

  const checkClaim = async (section: Section, claim: Claim, errorsExpected: boolean, signal?: AbortSignal) => {
    const t0 = Date.now();
    const stream = claim.client === 'direct' ? direct?.stream : meshed;
    if (!stream) throw new StageCheckFailed(`${claim.kind}: no feed of the direct client's lines on this target`);
    topology ??= deployTopology(o.docDir);
    const since = appliedAt ?? editedAt ?? sectionAt;
    const allowErrors = errorsExpected || section.blocks.some((b) => b.attrs.allowErrors === true);
    o.onChecking?.(`checking ${claim.text} (${o.document}:${claim.line})`);
    const check = claim.kind === 'shares' ? inGroup(claim.group, sharesCheck(claim, since, allowErrors)) : claimCheck(claim, { fleet: fleetOf(topology.workloads), since, allowErrors });
    // Evidence already in (a direct client that has finished) is judged whole: a pass
    // must not rest on the first windows when a later one breaks the claim.
    const verdict = await decide(check, stream, o.verifyTimeoutMs, signal, true);
    if (!verdict) return o.onSkip?.(`${claim.text} in section ${section.title} not checked: interrupted`);
    record(section, claim.line, verdict, t0);
  };

  const sharesCheck = (claim: SharesClaim, since: number, allowErrors: boolean): ClaimCheck => {
    const sum = Object.values(claim.weights).reduce((a, b) => a + b, 0);
    const expected = new Map(Object.entries(claim.weights).map(([v, w]) => [v, w / sum]));
    const label = shareLabel(expected, [...expected.keys()].sort());
    const c = stageCheck({ label, expected, appliedAt: since, allowErrors }, claim.windows, claim.calls ?? 100);
    const wrap = (v: StageVerdict): CheckVerdict => ({ name: 'shares', ok: v.ok, n: v.n, line: formatVerdict(v).replace(/^stage /, 'shares ') });
    return {
      feed: (s) => {
        const v = c.feed(s);
        return v && wrap(v);
      },
      timeout: (ms) => wrap(c.timeout(ms)),
    };
  };

  const checkStage = async (section: Section, splits: Split[], errorsExpected: boolean, signal?: AbortSignal) => {
    const t0 = Date.now();
    // The last split the section applied, for each apex; the tutorial has one apex.
    const split = splits[splits.length - 1]!;
    versions ??= serviceVersions(o.docDir);
    let expected: Map<string, number>;
    try {
      expected = expectedByVersion(split, versions);
    } catch (e) {
      // Backends no Service in deploy/ maps to a version: there is nothing to compare the
      // client's counts with. Say so rather than fail or pass in silence.
      o.onSkip?.(`stage ${splitLabel(split)} in section ${section.title} not checked: ${(e as Error).message} in deploy/`);
      return;
    }
    // Labelled by version (v1/v2), the way the client reports traffic, whatever the backends;
    // a version the split leaves out shows as 0.
    const allVersions = [...new Set([...versions.values()].flat())].sort();
    for (const v of allVersions) if (!expected.has(v)) expected.set(v, 0);
    const label = shareLabel(expected, allVersions);
    const stage: ReportStage = { label, section: section.title, appliedAt: appliedAt ?? Date.now() };
    stages.push(stage);
    const check = stageCheck(
      {
        label: stage.label,
        expected,
        appliedAt: stage.appliedAt,
        editedAt: editedAt ?? stage.appliedAt,
        allowErrors: errorsExpected || section.blocks.some((b) => b.attrs.allowErrors === true),
      },
      o.k ?? 3,
      o.minCalls ?? 100,
    );
    o.onChecking?.(`checking stage ${label} (${o.document}:${editLine ?? section.line})`);
    const verdict = await decide({ feed: (s) => stageVerdict(check.feed(s)), timeout: (ms) => stageVerdict(check.timeout(ms))! }, meshed, o.verifyTimeoutMs, signal, false);
    if (!verdict) {
      // Cut short by Ctrl-C: nothing was decided, so it is no failure; the report shows the
      // stage with no verdict ("not checked").
      return o.onSkip?.(`stage ${label} in section ${section.title} not checked: interrupted`);
    }
    stage.verdict = (verdict as CheckVerdict & { stage: StageVerdict }).stage;
    record(section, editLine ?? section.line, verdict, t0);
  };

  const stageVerdict = (v: StageVerdict | undefined): (CheckVerdict & { stage: StageVerdict }) | undefined =>
    v && { name: `stage ${v.label}`, ok: v.ok, n: v.n, line: formatVerdict(v), stage: v };

  /**
   * Feed a check the stream's summaries until it decides or time is up (undefined: Ctrl-C
   * came first). `whole`: the
   * summaries already in are all fed first, and a failure among them wins over a pass.
   */
  const decide = (check: ClaimCheck, stream: Stream, timeoutMs: number, signal: AbortSignal | undefined, whole: boolean) =>
    new Promise<CheckVerdict | undefined>((resolveVerdict) => {
      let done = false;
      const finish = (v: CheckVerdict | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        stream.waiter = undefined;
        resolveVerdict(v);
      };
      // Ctrl-C: a waiting check gives up at once, undecided.
      const giveUp = () => finish(undefined);
      signal?.addEventListener('abort', giveUp);
      const timer = setTimeout(() => finish(check.timeout(timeoutMs)), timeoutMs);
      if (signal?.aborted) return giveUp();
      let passed: CheckVerdict | undefined;
      for (const s of [...stream.samples]) {
        const v = check.feed(s);
        if (!v) continue;
        if (!whole || !v.ok) return finish(v);
        passed = v;
      }
      if (passed) return finish(passed);
      stream.waiter = (s) => {
        const v = check.feed(s);
        if (v) finish(v);
      };
    });

  return {
    listener,
    afterSection,
    checks,
    async close(exitCode) {
      await stopDirect();
      await o.source.stop();
      if (!o.reportFile) return undefined;
      const html = renderReport({ document: o.document, target: o.target, startedAt, endedAt: Date.now(), exitCode, samples, stages, checks });
      const file = resolve(o.reportFile);
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, html);
      renameSync(tmp, file);
      return file;
    },
  };
}
