// Wires the pieces: arguments → document → plan → (print | execute), with the UI listening
// and Ctrl-C turned into an orderly stop. Returns the exit code; runner.mjs exits with it.
//
// What only a run needs (execute and its processes, the stage edits' YAML, the observer) is
// imported when a run starts: --help, --list and --dry-run start without it.

import { relative } from 'node:path';
import { readDocument, type Section } from './document.ts';
import { parseCli, HELP } from './cli.ts';
import { EXIT, UsageError } from './errors.ts';
import { createBus } from './events.ts';
import type { SectionChoice } from './execute.ts';
import { pauseMode, readAnswer, sleep } from './pause.ts';
import { makePlan, planToJson, type Plan } from './plan.ts';
import { createUi, type Ui } from './ui.ts';
import { DEFAULT_VERIFY_TIMEOUT_MS } from './cli.ts';
import { documentClaims } from './observe/claims.ts';

export async function main(argv: string[]): Promise<number> {
  const ui = createUi(process.stdout, process.stderr, process.env);
  try {
    return await run(argv, ui);
  } catch (e) {
    if (e instanceof UsageError) {
      ui.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
}

async function run(argv: string[], ui: Ui): Promise<number> {
  const options = parseCli(argv);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT.done;
  }
  const document = readDocument(options.file);
  // Every claim of the document is validated before anything is listed or run.
  const claims = documentClaims(document);
  const { config } = document;
  const targetName = options.target ?? config.defaultTarget;
  const target = config.targets.find((t) => t.name === targetName);
  if (!target) throw new UsageError(`--target must be ${config.targets.map((t) => t.name).join(' or ')}, got ${JSON.stringify(targetName)}`);
  const plan = makePlan(document, {
    target: target.name,
    ...(options.only !== undefined ? { only: options.only } : {}),
    ...(options.from !== undefined ? { from: options.from } : {}),
  });

  if (options.list) {
    if (options.json) ui.json(planToJson(plan));
    else ui.list(plan);
    return EXIT.done;
  }
  if (options.dryRun) {
    const { stageDiffs } = await import('./stage-edit.ts');
    const diffs = stageDiffs(plan);
    if (options.json) ui.json(planToJson(plan, diffs));
    else ui.dryRun(plan, diffs);
    return EXIT.done;
  }

  const [{ execute, preflightStages }, { createObserver }, { followSource, silentSource }, { directFeedFor }, { createJunit }, { missingPrograms }] = await Promise.all([
    import('./execute.ts'),
    import('./observe/observer.ts'),
    import('./observe/traffic-source.ts'),
    import('./observe/direct-source.ts'),
    import('./junit.ts'),
    import('./preflight.ts'),
  ]);
  preflightStages(plan);
  const follows = [target.traffic, target.direct === 'blocks' ? undefined : target.direct].flatMap((c) => (c ? [c.follow] : []));
  const missing = missingPrograms(plan, { verify: options.verify, follows });
  if (missing.length > 0) {
    for (const line of missing) ui.error(line);
    return EXIT.failed;
  }

  const bus = createBus();
  bus.on((e) => ui.onEvent(e));
  const junit = options.junit !== undefined ? createJunit(plan, claims) : undefined;
  if (junit) bus.on(junit.listener);
  const observer = createObserver({
    bus,
    source: target.traffic ? followSource(target.traffic, document.dir) : silentSource(),
    manifests: config.manifests,
    ...(config.manifests !== null ? { manifestsLabel: `${relative(document.dir, config.manifests) || '.'}/` } : {}),
    document: document.file,
    target: plan.target,
    verifyTimeoutMs: options.verifyTimeoutMs ?? target.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS,
    ...(options.report !== undefined ? { reportFile: options.report } : {}),
    claims,
    directFeed: () => directFeedFor(target, document.dir),
  });

  const stopRun = new AbortController();
  const cutCleanupShort = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      ui.note('interrupted: stopping blocks, running always blocks, restoring files (Ctrl-C again to skip always blocks)');
      stopRun.abort();
    } else if (interrupts === 2) {
      cutCleanupShort.abort();
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
      // A target that declares no traffic to follow has nothing to check against.
      verify: options.verify && target.traffic !== undefined,
      afterSection: [observer.afterSection],
      ...(beforeSection ? { beforeSection } : {}),
      interrupt: stopRun.signal,
      hardInterrupt: cutCleanupShort.signal,
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
