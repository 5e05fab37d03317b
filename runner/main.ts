// Wires the pieces: arguments → document → plan → (print | execute), with the UI listening
// and Ctrl-C turned into an orderly stop. Returns the exit code; runner.mjs exits with it.
//
// What only a run needs (execute and its processes, the stage edits' YAML, the observer) is
// imported when a run starts: --help, --list and --dry-run start without it.

import { readDocument, type Block, type Section } from './document.ts';
import { parseCli, HELP } from './cli.ts';
import { unifiedDiff } from './diff.ts';
import { EXIT, UsageError } from './errors.ts';
import { createBus, type Listener } from './events.ts';
import type { AfterSection, SectionChoice } from './execute.ts';
import { pauseMode, readAnswer, sleep } from './pause.ts';
import { makePlan, planToJson, type Plan } from './plan.ts';
import { createUi, type Ui } from './ui.ts';
import { DEFAULT_VERIFY_TIMEOUT_MS } from './cli.ts';
import { documentClaims } from './observe/claims.ts';
import type { TrafficSource } from './observe/traffic-source.ts';

export interface Hooks {
  /** Checks run after each section (skipped with --no-verify); see execute.ts. */
  afterSection?: AfterSection[];
  /** More subscribers to run events, next to the UI. */
  listeners?: Listener[];
  /** Where the client's summary lines come from (default: the target's own; tests pass recorded lines). */
  source?: TrafficSource;
}

export async function main(argv: string[], hooks: Hooks = {}): Promise<number> {
  const ui = createUi(process.stdout, process.stderr, process.env);
  try {
    return await run(argv, ui, hooks);
  } catch (e) {
    if (e instanceof UsageError) {
      ui.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
}

async function run(argv: string[], ui: Ui, hooks: Hooks): Promise<number> {
  const options = parseCli(argv);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT.done;
  }
  const document = readDocument(options.file);
  // Every claim of the document is validated before anything is listed or run.
  const claims = documentClaims(document);
  const plan = makePlan(document, {
    target: options.target,
    ...(options.only !== undefined ? { only: options.only } : {}),
    ...(options.from !== undefined ? { from: options.from } : {}),
  });

  if (options.list) {
    if (options.json) ui.json(planToJson(plan));
    else ui.list(plan);
    return EXIT.done;
  }
  if (options.dryRun) {
    const diffs = await stageDiffs(plan);
    if (options.json) ui.json(planToJson(plan, diffs));
    else ui.dryRun(plan, diffs);
    return EXIT.done;
  }

  const [{ execute, preflightStages }, { createObserver }, { sourceForTarget }, { directFeedForTarget }, { createJunit }, { missingPrograms }] = await Promise.all([
    import('./execute.ts'),
    import('./observe/observer.ts'),
    import('./observe/traffic-source.ts'),
    import('./observe/direct-source.ts'),
    import('./junit.ts'),
    import('./preflight.ts'),
  ]);
  preflightStages(plan);
  const missing = missingPrograms(plan, { verify: options.verify });
  if (missing.length > 0) {
    for (const line of missing) ui.error(line);
    return EXIT.failed;
  }

  const bus = createBus();
  bus.on((e) => ui.onEvent(e));
  for (const l of hooks.listeners ?? []) bus.on(l);
  const junit = options.junit !== undefined ? createJunit(plan, claims) : undefined;
  if (junit) bus.on(junit.listener);
  const observer = createObserver({
    source: hooks.source ?? sourceForTarget(plan.target, document.dir),
    docDir: document.dir,
    document: document.file,
    target: plan.target,
    verifyTimeoutMs: options.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS[plan.target],
    ...(options.report !== undefined ? { reportFile: options.report } : {}),
    onTraffic: (samples) => ui.traffic(samples),
    onVerdict: (line, verdict) => ui.verdict(line, verdict.ok),
    onChecking: (what) => ui.checking(what),
    onSkip: (line) => ui.note(line),
    claims,
    directFeed: () => directFeedForTarget(plan.target, document.dir),
  });
  bus.on(observer.listener);

  const soft = new AbortController();
  const hard = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      ui.note('interrupted: stopping blocks, running always blocks, restoring files (Ctrl-C again to skip always blocks)');
      soft.abort();
    } else if (interrupts === 2) {
      hard.abort();
    } else {
      // Edited files are put back by the stager's exit hook.
      process.exit(EXIT.interrupted);
    }
  };
  // A closed terminal (SIGHUP) is cleaned up like Ctrl-C; writes to it must not crash that.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onInterrupt);
  const ignoreClosed = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
  };
  process.stdout.on('error', ignoreClosed);
  process.stderr.on('error', ignoreClosed);

  const mode = pauseMode(options, process.stdin.isTTY === true, process.env);
  const beforeSection =
    mode.kind === 'none'
      ? undefined
      : async (section: Section, signal: AbortSignal): Promise<SectionChoice> => {
          ui.sectionIntro(section);
          if (mode.kind === 'sleep') {
            ui.waiting(mode.seconds);
            await sleep(mode.seconds * 1000, signal);
            return 'run';
          }
          ui.prompt();
          const answer = await readAnswer(process.stdin, signal);
          ui.promptDone(answer === null ? '' : answer);
          if (answer === 'interrupt') {
            onInterrupt();
            return 'quit';
          }
          return answer ?? 'quit';
        };

  let exitCode: number = EXIT.failed;
  try {
    const result = await execute({
      plan,
      bus,
      timeoutMs: options.timeoutMs,
      keepChanges: options.keepChanges,
      verify: options.verify,
      afterSection: [observer.afterSection, ...(hooks.afterSection ?? [])],
      ...(beforeSection ? { beforeSection } : {}),
      interrupt: soft.signal,
      hardInterrupt: hard.signal,
    });
    exitCode = result.exitCode;
    return exitCode;
  } finally {
    for (const sig of signals) process.off(sig, onInterrupt);
    const report = await observer.close(exitCode);
    if (report) ui.report(report);
    if (junit && options.junit !== undefined) ui.results(junit.write(options.junit, observer.checks));
    ui.leftRunning(plan);
  }
}

/** Each stage edit's diff, applied in memory one after another as the run would. */
async function stageDiffs(plan: Plan): Promise<Map<Block, string>> {
  const { dryApply } = await import('./stage-edit.ts');
  const diffs = new Map<Block, string>();
  for (const { block, edit } of dryApply(plan)) {
    // A file an earlier block creates: its diff can only be known when the run gets there.
    diffs.set(block, edit ? unifiedDiff(edit.file, edit.before, edit.after) : `(${block.file} does not exist yet; an earlier block must create it)\n`);
  }
  return diffs;
}
