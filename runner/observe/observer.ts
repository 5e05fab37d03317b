// Watches a run: follows the client's summary lines, feeds the live view, checks each section
// that changed a split against the traffic it then sees, and writes the report at the end.
// It only listens to run events and answers the afterSection hook; it prints nothing itself.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expectedByVersion, shareLabel } from '../../lib/shares.ts';
import { splitLabel, type Split } from '../../lib/split.ts';
import type { Summary } from '../../lib/summary.ts';
import { readTopology, versionsByService } from '../../lib/topology.ts';
import { ROOT } from '../../scripts/local-mesh/state.ts';
import type { Section } from '../document.ts';
import type { RunEvent } from '../events.ts';
import { renderReport, type ReportStage } from './report.ts';
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
  /** A stage was decided. */
  onVerdict?: (line: string, verdict: StageVerdict) => void;
}

export interface Observer {
  listener: (e: RunEvent) => void;
  afterSection: (section: Section, splits: Split[], signal?: AbortSignal) => Promise<void>;
  /** Stop following traffic; write the report if one was asked for. Returns its path. */
  close(exitCode: number): Promise<string | undefined>;
}

export class StageCheckFailed extends Error {
  exitCode = 1;
}

/** Every manifest under `<dir>/deploy`, or the project's own when the document has none. */
export function serviceVersions(docDir: string): Map<string, string[]> {
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
  return versionsByService(readTopology(files));
}

export function createObserver(o: ObserverOptions): Observer {
  const samples: Summary[] = [];
  const stages: ReportStage[] = [];
  const startedAt = Date.now();
  let waiter: ((s: Summary) => void) | undefined;
  // Per section: when its last stage edit happened, and when the block after it (the apply) started.
  let editedAt: number | undefined;
  let appliedAt: number | undefined;
  let versions: Map<string, string[]> | undefined;

  o.source.start((s) => {
    samples.push(s);
    o.onTraffic?.(samples);
    waiter?.(s);
  });

  const listener = (e: RunEvent) => {
    if (e.type === 'section-start') {
      editedAt = undefined;
      appliedAt = undefined;
    } else if (e.type === 'stage-applied' && e.split) {
      editedAt = Date.now();
      appliedAt = undefined;
    } else if (e.type === 'block-start' && editedAt !== undefined && appliedAt === undefined && e.block.kind === 'run') {
      // The block after the edit is the one that applies it: the stage starts with it.
      appliedAt = Date.now();
    }
  };

  const afterSection = async (section: Section, splits: Split[], signal?: AbortSignal) => {
    if (splits.length === 0) return;
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
        allowErrors: section.blocks.some((b) => b.attrs.allowErrors === true),
      },
      o.k ?? 3,
      o.minCalls ?? 100,
    );
    const verdict = await decide(check, o.verifyTimeoutMs, signal);
    if (!verdict) {
      // Cut short by Ctrl-C: nothing was decided, so it is no failure; the report shows the
      // stage with no verdict ("not checked").
      o.onSkip?.(`stage ${label} in section ${section.title} not checked: interrupted`);
      return;
    }
    stage.verdict = verdict;
    const line = formatVerdict(verdict);
    o.onVerdict?.(line, verdict);
    if (!verdict.ok) throw new StageCheckFailed(line);
  };

  const decide = (check: ReturnType<typeof stageCheck>, timeoutMs: number, signal?: AbortSignal) =>
    new Promise<StageVerdict | undefined>((resolveVerdict) => {
      let done = false;
      const finish = (v: StageVerdict | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        waiter = undefined;
        resolveVerdict(v);
      };
      // Ctrl-C: a waiting check gives up at once, undecided.
      const giveUp = () => finish(undefined);
      signal?.addEventListener('abort', giveUp);
      const timer = setTimeout(() => finish(check.timeout(timeoutMs)), timeoutMs);
      if (signal?.aborted) return giveUp();
      for (const s of samples) {
        const v = check.feed(s);
        if (v) return finish(v);
      }
      waiter = (s) => {
        const v = check.feed(s);
        if (v) finish(v);
      };
    });

  return {
    listener,
    afterSection,
    async close(exitCode) {
      await o.source.stop();
      if (!o.reportFile) return undefined;
      const html = renderReport({ document: o.document, target: o.target, startedAt, endedAt: Date.now(), exitCode, samples, stages });
      const file = resolve(o.reportFile);
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, html);
      renameSync(tmp, file);
      return file;
    },
  };
}
