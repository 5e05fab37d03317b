// Watches a run: follows the client's summary lines, feeds the live view, checks each section
// that changed a split against the traffic it then sees, checks each section's traffic claims
// (claims.ts: pinned, spread, shares, errors), and writes the report at the end.
// It is a subscriber of the run's event bus like the UI: it learns of sections and applied
// splits from run events, and what it sees and decides (traffic, checks, verdicts, notes)
// goes back out as run events; it answers the afterSection hook and prints nothing itself.

import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expectedByVersion, shareLabel, UnmappedBackendError } from '../../lib/shares.ts';
import { splitLabel, type Split } from '../../lib/split.ts';
import type { Summary } from '../../lib/summary.ts';
import { readTopology, versionsByService, type Topology } from '../../lib/topology.ts';
import type { Section } from '../document.ts';
import { CheckFailed } from '../errors.ts';
import type { EventBus, RunEvent } from '../events.ts';
import { claimCheck, fleetOf, inGroup, type CheckVerdict, type ClaimCheck } from './claim-checks.ts';
import type { Claim, SharesClaim } from './claims.ts';
import type { DirectFeed } from './direct-source.ts';
import { renderReport, type ReportCheck, type ReportStage } from './report.ts';
import { formatVerdict, stageCheck, type StageVerdict } from './stage-check.ts';
import type { TrafficSource } from './traffic-source.ts';

export interface ObserverOptions {
  /** The run's events: the observer subscribes to them and emits its own on them. */
  bus: EventBus;
  source: TrafficSource;
  /** Folder of the manifests whose Services map backends to versions (front matter `manifests`). */
  manifests: string | null;
  /** The manifests folder as the document names it, for notes. */
  manifestsLabel?: string;
  document: string;
  target: string;
  verifyTimeoutMs: number;
  /** windows in a row that must match */
  k?: number;
  minCalls?: number;
  reportFile?: string;
  /** Each section's traffic claims (documentClaims), validated before the run. */
  claims?: ReadonlyMap<Section, readonly Claim[]>;
  /** A new feed of the direct client's lines, opened for each section with a client=direct claim (undefined: none on this target). */
  directFeed?: () => DirectFeed | undefined;
}

/** A check as the results (JUnit, report) record it. */
export interface CheckRecord extends ReportCheck {
  durationMs: number;
}

export interface Observer {
  afterSection: (section: Section, signal?: AbortSignal) => Promise<void>;
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

/** Every manifest under the folder the front matter names (none declared: no workloads). */
function manifestTopology(base: string | null): Topology {
  if (base === null) return { workloads: [], services: [] };
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
  // The splits the current section's stage edits applied, in order.
  let splits: Split[] = [];
  let topology: Topology | undefined;
  let versions: Map<string, string[]> | undefined;
  // The direct client's lines, for the section being run when it has client=direct claims.
  let direct: { stream: Stream; feed: DirectFeed } | undefined;

  o.source.start((s) => {
    samples.push(s);
    o.bus.emit({ type: 'traffic', samples });
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
      splits = [];
      void stopDirect();
      if (o.directFeed && (o.claims?.get(e.section) ?? []).some((c) => c.client === 'direct')) {
        const stream: Stream = { samples: [] };
        const feed = o.directFeed();
        if (feed) {
          direct = { stream, feed };
          feed.start((s) => {
            stream.samples.push(s);
            stream.waiter?.(s);
          });
        }
      }
    } else if (e.type === 'stage-applied' && e.split) {
      editedAt = Date.now();
      appliedAt = undefined;
      editLine = e.line;
      splits.push(e.split);
    } else if (e.type === 'block-start' && editedAt !== undefined && appliedAt === undefined && e.block.kind === 'run') {
      // The block after the edit is the one that applies it: the stage starts with it.
      appliedAt = Date.now();
    }
  };

  const afterSection = async (section: Section, signal?: AbortSignal) => {
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
    o.bus.emit({ type: 'check-decided', name: verdict.name, ok: verdict.ok, line: verdict.line });
    if (!verdict.ok) throw new CheckFailed(verdict.line);
  };

  const checkClaim = async (section: Section, claim: Claim, errorsExpected: boolean, signal?: AbortSignal) => {
    const t0 = Date.now();
    const stream = claim.client === 'direct' ? direct?.stream : meshed;
    if (!stream) throw new CheckFailed(`${claim.kind}: no feed of the direct client's lines on this target`);
    topology ??= manifestTopology(o.manifests);
    const since = appliedAt ?? editedAt ?? sectionAt;
    const allowErrors = errorsExpected || section.blocks.some((b) => b.attrs.allowErrors === true);
    o.bus.emit({ type: 'check-started', what: `checking ${claim.text} (${o.document}:${claim.line})` });
    const check = claim.kind === 'shares' ? inGroup(claim.group, sharesCheck(claim, since, allowErrors)) : claimCheck(claim, { fleet: fleetOf(topology.workloads), since, allowErrors });
    // Evidence already in (a direct client that has finished) is judged whole: a pass
    // must not rest on the first windows when a later one breaks the claim.
    const verdict = await decide(check, stream, o.verifyTimeoutMs, signal, { judgeWhole: true });
    if (!verdict) return o.bus.emit({ type: 'check-skipped', line: `${claim.text} in section ${section.title} not checked: interrupted` });
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
    versions ??= versionsByService((topology ??= manifestTopology(o.manifests)));
    let expected: Map<string, number>;
    try {
      expected = expectedByVersion(split, versions);
    } catch (e) {
      // Only a backend with no version means "cannot check"; any other error is a bug.
      if (!(e instanceof UnmappedBackendError)) throw e;
      // Backends no Service in the manifests maps to a version: there is nothing to compare the
      // client's counts with. Say so rather than fail or pass in silence.
      o.bus.emit({ type: 'check-skipped', line: `stage ${splitLabel(split)} in section ${section.title} not checked: ${e.message} in ${o.manifestsLabel ?? 'the manifests'}` });
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
    o.bus.emit({ type: 'check-started', what: `checking stage ${label} (${o.document}:${editLine ?? section.line})` });
    const verdict = await decide({ feed: (s) => stageVerdict(check.feed(s)), timeout: (ms) => stageVerdict(check.timeout(ms))! }, meshed, o.verifyTimeoutMs, signal, { judgeWhole: false });
    if (!verdict) {
      // Cut short by Ctrl-C: nothing was decided, so it is no failure; the report shows the
      // stage with no verdict ("not checked").
      return o.bus.emit({ type: 'check-skipped', line: `stage ${label} in section ${section.title} not checked: interrupted` });
    }
    stage.verdict = (verdict as CheckVerdict & { stage: StageVerdict }).stage;
    record(section, editLine ?? section.line, verdict, t0);
  };

  const stageVerdict = (v: StageVerdict | undefined): (CheckVerdict & { stage: StageVerdict }) | undefined =>
    v && { name: `stage ${v.label}`, ok: v.ok, n: v.n, line: formatVerdict(v), stage: v };

  /**
   * Feed a check the stream's summaries until it decides or time is up (undefined: Ctrl-C
   * came first). `judgeWhole`: the summaries already in are all fed first, and a failure
   * among them wins over a pass.
   */
  const decide = (check: ClaimCheck, stream: Stream, timeoutMs: number, signal: AbortSignal | undefined, { judgeWhole }: { judgeWhole: boolean }) =>
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
        if (!judgeWhole || !v.ok) return finish(v);
        passed = v;
      }
      if (passed) return finish(passed);
      stream.waiter = (s) => {
        const v = check.feed(s);
        if (v) finish(v);
      };
    });

  const unsubscribe = o.bus.on(listener);

  return {
    afterSection,
    checks,
    async close(exitCode) {
      unsubscribe();
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
