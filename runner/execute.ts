// Walks a Plan: the only part of the runner that starts processes or changes files. It
// reports through events and prints nothing. Whatever ends the run (success, a failure, an
// interrupt, a quit at a prompt) the same cleanup runs: background blocks stopped, the
// `always` blocks not yet run are run, edited files restored, temp files removed.

import { startBackground, type BackgroundJob } from './background.ts';
import type { Block, Section } from './document.ts';
import { CheckFailed, DocumentError, EXIT } from './errors.ts';
import type { EventBus, Failure, RunStatus } from './events.ts';
import { broughtUp, isActive, type Plan, type PlannedSection } from './plan.ts';
import { closeSession, createSession, runBlock, type BlockHandle } from './shell.ts';
import { checkWritable, createStager, dryApply } from './stage-edit.ts';
import { unifiedDiff } from './diff.ts';
import { readFailure } from './failure.ts';

/**
 * Runs after a section finished well (what it applied came as stage-applied events). Throw a
 * CheckFailed to fail the run: its message is reported, its `exitCode` becomes the run's.
 */
export type AfterSection = (section: Section, signal: AbortSignal) => Promise<void>;

export type SectionChoice = 'run' | 'skip' | 'quit';

export interface ExecuteOptions {
  plan: Plan;
  bus: EventBus;
  /** Default block timeout; a block's {timeout=...} wins. */
  timeoutMs: number;
  keepChanges: boolean;
  /** false (--no-verify): the afterSection checks are not called. */
  verify: boolean;
  afterSection?: AfterSection[];
  /** Asked before each section that has something to run (the pause / prompt). */
  beforeSection?: (section: Section, signal: AbortSignal) => Promise<SectionChoice>;
  /** First Ctrl-C: stop the current block, clean up, exit 130. */
  interrupt: AbortSignal;
  /** Second Ctrl-C: also cut the cleanup's `always` blocks short. */
  hardInterrupt?: AbortSignal;
}

export interface RunResult {
  status: RunStatus;
  exitCode: number;
  failure: Failure | null;
}

/** Validate every stage edit before anything runs, so a bad edit fails with nothing done. */
export function preflightStages(plan: Plan): void {
  for (const { block, edit } of dryApply(plan)) {
    // A file a block creates first can only be checked when the run gets there.
    if (edit) checkWritable(plan.document, block);
  }
}

export async function execute(options: ExecuteOptions): Promise<RunResult> {
  const { plan, bus } = options;
  const doc = plan.document;
  const started = Date.now();
  const session = createSession(doc.dir);
  const stager = createStager(doc, { write: true });
  const backgrounds: BackgroundJob[] = [];
  const ran = new Set<Block>();
  const skippedSections = new Set<Section>();
  let status: RunStatus = 'done';
  let failure: Failure | null = null;
  // Set once cleanup stops the background blocks: from then on their ending is expected.
  let stoppingBackgrounds = false;

  const interrupted = () => options.interrupt.aborted;
  const fail = (f: Failure) => {
    failure = f;
    status = 'failed';
  };

  bus.emit({ type: 'run-start', file: doc.file, target: plan.target, defaultTarget: doc.config.defaultTarget, sections: plan.sections.length });
  announceBringUp(plan, bus);
  try {
    for (const planned of plan.sections) {
      if (interrupted()) break;
      const { section } = planned;
      if (options.beforeSection && asksFirst(planned)) {
        const choice = await untilAborted(options.beforeSection(section, options.interrupt), options.interrupt);
        if (choice === null || interrupted()) break;
        if (choice === 'quit') {
          status = 'interrupted';
          break;
        }
        if (choice === 'skip') {
          skippedSections.add(section);
          const alwaysBlocks = planned.steps.filter((x) => x.action === 'run' && x.block.attrs.always).length;
          bus.emit({ type: 'section-skipped', section, reason: 'user', alwaysBlocks });
          continue;
        }
      }
      bus.emit({ type: 'section-start', section });
      await runSection(planned);
      if (status !== 'done' || interrupted()) {
        bus.emit({ type: 'section-end', section, status: interrupted() ? 'interrupted' : 'failed' });
        break;
      }
      if (options.verify && isChecked(planned)) {
        for (const check of options.afterSection ?? []) {
          try {
            // Ctrl-C does not wait for a check; a check that fails after that is moot.
            const checking = check(section, options.interrupt);
            checking.catch(() => {});
            await untilAborted(checking, options.interrupt);
            if (interrupted()) break;
          } catch (e) {
            // Only a decided check fails the run as a failure; anything else is a bug in the
            // check and propagates (after cleanup) as one.
            if (!(e instanceof CheckFailed)) throw e;
            fail(checkFailure(section, e));
            break;
          }
        }
      }
      bus.emit({ type: 'section-end', section, status: status === 'done' ? 'done' : 'failed' });
      if (status !== 'done') break;
    }
  } catch (e) {
    // A bug: clean up as after a failure (always blocks too), then let it out.
    status = 'failed';
    throw e;
  } finally {
    if (interrupted()) status = 'interrupted';
    await cleanup();
  }
  const exitCode =
    status === 'done' ? EXIT.done : status === 'interrupted' ? EXIT.interrupted : (failure as Failure | null)?.exitCode ?? EXIT.failed;
  bus.emit({ type: 'run-end', status, exitCode, failure, durationMs: Date.now() - started });
  return { status, exitCode, failure };

  async function runSection({ section, steps }: PlannedSection): Promise<void> {
    for (const step of steps) {
      if (interrupted() || status !== 'done') break;
      const { block } = step;
      switch (step.action) {
        case 'skip':
          bus.emit({ type: 'block-skipped', block, reason: step.reason! });
          break;
        case 'show':
          bus.emit({ type: 'block-shown', block });
          break;
        case 'stage': {
          let edit;
          try {
            edit = stager.apply(block);
          } catch (e) {
            if (!(e instanceof DocumentError)) throw e;
            fail({ ...blankFailure(section, block), where: `${e.file}:${e.line}`, message: e.detail, exitCode: EXIT.usage });
            break;
          }
          bus.emit({
            type: 'stage-applied',
            block,
            file: edit.file,
            line: block.line,
            diff: unifiedDiff(edit.file, edit.before, edit.after),
            ...(edit.split ? { split: edit.split } : {}),
          });
          break;
        }
        case 'run': {
          const f = await runCommandBlock(section, block, { always: false, stopOn: options.interrupt });
          if (f) fail(f);
          break;
        }
        case 'background': {
          const f = await startBackgroundBlock(section, block);
          if (f) fail(f);
          break;
        }
      }
    }
  }

  /** A run block, in the session's bash; `always`: run by the cleanup; `stopOn`: what stops it. */
  async function runCommandBlock(section: Section, block: Block, { always, stopOn }: { always: boolean; stopOn: AbortSignal }): Promise<Failure | null> {
    ran.add(block);
    bus.emit({ type: 'block-start', section, block, always });
    const t0 = Date.now();
    let stderr = '';
    const handle: BlockHandle = runBlock(session, {
      text: block.text,
      label: `line-${block.line}`,
      timeoutMs: timeoutOf(block),
      onStdout: (chunk) => {
        bus.emit({ type: 'block-output', block, stream: 'stdout', chunk });
      },
      onStderr: (chunk) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-16_384);
        bus.emit({ type: 'block-output', block, stream: 'stderr', chunk });
      },
    });
    const onStop = () => handle.stop();
    stopOn.addEventListener('abort', onStop);
    if (stopOn.aborted) handle.stop();
    const result = await handle.done;
    stopOn.removeEventListener('abort', onStop);
    bus.emit({ type: 'block-end', block, result, durationMs: Date.now() - t0 });
    if (result.code === 0) return null;
    if (stopOn.aborted) return null; // interrupted, not failed
    return { ...blankFailure(section, block), ...readFailure(doc.file, block, result, stderr, timeoutOf(block)) };
  }

  async function startBackgroundBlock(section: Section, block: Block): Promise<Failure | null> {
    ran.add(block);
    bus.emit({ type: 'block-start', section, block, always: false });
    const job = await startBackground(session, block, {
      readyTimeoutMs: timeoutOf(block),
      onLine: (stream, line) => bus.emit({ type: 'background-output', name: job.name, stream, line }),
    });
    backgrounds.push(job);
    bus.emit({ type: 'background-started', block, name: job.name, pid: job.pid, log: job.log });
    job.exited.then((r) => {
      bus.emit({ type: 'background-stopped', name: job.name, code: r.code, signal: r.signal, expected: stoppingBackgrounds });
    });
    try {
      const ok = await untilAborted(job.ready.then(() => true), options.interrupt);
      if (ok) bus.emit({ type: 'background-ready', block, name: job.name });
      return null;
    } catch (e) {
      return {
        ...blankFailure(section, block),
        message: `background block ${job.name} did not get ready: ${(e as Error).message}`,
      };
    }
  }

  async function cleanup(): Promise<void> {
    stoppingBackgrounds = true;
    await Promise.all(backgrounds.map((j) => j.stop()));
    if (status !== 'done') {
      // After an interrupt it takes a second Ctrl-C to cut cleanup short; after a failure, one.
      const cutShort =
        status === 'interrupted'
          ? (options.hardInterrupt ?? new AbortController().signal)
          : AbortSignal.any([options.interrupt, options.hardInterrupt ?? new AbortController().signal]);
      for (const { section, steps } of plan.sections) {
        if (skippedSections.has(section)) continue;
        for (const { block, action } of steps) {
          if (cutShort.aborted) break;
          if (action !== 'run' || !block.attrs.always || ran.has(block)) continue;
          // Its failure is reported but the run's outcome stays what it was.
          await runCommandBlock(section, block, { always: true, stopOn: cutShort });
        }
      }
    }
    if (options.keepChanges) {
      stager.keep();
    } else {
      const { done, failed } = stager.restore();
      if (done.length > 0 || failed.length > 0) bus.emit({ type: 'files-restored', files: done, failed });
    }
    closeSession(session);
  }

  /** A block's own timeout= or the run's --timeout. */
  function timeoutOf(block: Block): number {
    return block.attrs.timeoutMs ?? options.timeoutMs;
  }

  function blankFailure(section: Section, block: Block | null): Failure {
    return {
      section,
      block,
      where: `${doc.file}:${block?.line ?? section.line}`,
      command: null,
      code: null,
      signal: null,
      timedOut: false,
      stderrTail: [],
      message: '',
      exitCode: EXIT.failed,
    };
  }

  function checkFailure(section: Section, err: CheckFailed): Failure {
    return { ...blankFailure(section, null), message: err.message, exitCode: err.exitCode };
  }
}

/** --only: say once, before they run, which sections are brought up and for which one. */
function announceBringUp(plan: Plan, bus: EventBus): void {
  const sections = broughtUp(plan);
  if (plan.only && sections.length > 0) bus.emit({ type: 'bring-up', only: plan.only, sections });
}

/** The pause or prompt comes before sections the reader chose, not before what they need. */
function asksFirst(planned: PlannedSection): boolean {
  return !planned.broughtUp && planned.steps.some(isActive);
}

/** A brought-up section sets the stage; only the chosen section's traffic is judged. */
function isChecked(planned: PlannedSection): boolean {
  return !planned.broughtUp;
}

/** The promise's value, or null as soon as the signal aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
