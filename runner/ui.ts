// The one place that writes to the terminal: run events as lines (through the live region,
// live-region.ts), --list and --dry-run (plan-view.ts), prompts and errors. Colour only on
// a TTY and never when NO_COLOR is set (https://no-color.org).

import type { Target } from './attributes.ts';
import type { Block, Section } from './document.ts';
import { shellWord } from './shell-word.ts';
import type { Failure, RunEvent } from './events.ts';
import { teardownSection, type JsonSection, type Plan } from './plan.ts';
import { bringUpLine, dryRunLines, indentText, listLines } from './plan-view.ts';
import { splitLabel } from '../lib/split.ts';
import type { Summary } from '../lib/summary.ts';
import { createLiveRegion } from './live-region.ts';
import { lastWindow, renderBars, renderLine } from './observe/live-view.ts';

type Paint = (s: string) => string;

export interface Style {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function makeStyle(color: boolean): Style {
  const sgr = (open: number, close: number): Paint => (color ? (s) => `\x1b[${open}m${s}\x1b[${close}m` : (s) => s);
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

export interface Output {
  write(s: string | Buffer): unknown;
  isTTY?: boolean;
}

export interface Ui {
  onEvent(event: RunEvent): void;
  list(plan: Plan): void;
  dryRun(plan: Plan, diffs: ReadonlyMap<Block, string>): void;
  json(value: JsonSection[]): void;
  sectionIntro(section: Section): void;
  /** Show the prompt line; background output is drawn above it until promptDone. */
  prompt(): void;
  promptDone(answer: string): void;
  waiting(seconds: number): void;
  note(message: string): void;
  error(message: string): void;
  report(file: string): void;
  /** After an --only run: what it set up stays up; say how to stop it. */
  leftRunning(plan: Plan): void;
  /** The JUnit results file was written. */
  results(file: string): void;
}

/** The live view shows the last this-many milliseconds of traffic. */
const LIVE_WINDOW_MS = 10_000;
/** Without a TTY, one traffic line at most this often. */
const PLAIN_EVERY_MS = 10_000;

export function createUi(out: Output, err: Output, env: NodeJS.ProcessEnv): Ui {
  const color = wantsColor(out, env);
  const s = makeStyle(color);
  const e = makeStyle(wantsColor(err, env));
  const tty = out.isTTY === true;
  const PROMPT = `${s.bold('Enter')} run · ${s.bold('s')} skip · ${s.bold('q')} quit `;
  let fileName = '';
  let target: Target = '';
  let defaultTarget: Target = '';
  // --only: the sections being brought up, marked as such when they start.
  let bringingUp = new Set<Section>();
  let blocksStarted = 0;
  // The live traffic view: lines kept at the bottom of a TTY, redrawn below whatever else is
  // written. Elsewhere (pipes, CI) it is a plain line now and then.
  const live = tty && !env.CI;
  const term = createLiveRegion(out, { live, prompt: PROMPT });
  const write = term.write;
  const line = term.line;
  let lastPlain = 0;
  const versionsSeen: string[] = [];
  // The current section: blocks left out for another target, and whether anything ran. A
  // section with nothing for this target says so once, at its end, instead of a line a block.
  let otherTarget: Block[] = [];
  let ranHere = false;

  const commandText = (text: string) =>
    text
      .split('\n')
      .map((l, i) => s.cyan(`${i === 0 ? '$' : ' '} ${l}`))
      .join('\n');

  const where = (block: Block) => `${fileName}:${block.line}`;

  /** The command that runs one section of this document on this target. */
  const onlyCommand = (file: string, t: Target, section: Section, byDefault: Target) =>
    ['node runner.mjs', shellWord(file), ...(t === byDefault ? [] : ['--target', t]), '--only', section.id].join(' ');

  const failureLines = (f: Failure): string[] => {
    const title = f.section.number === 0 ? f.section.title : `${f.section.number}. ${f.section.title}`;
    const out = [e.red(e.bold(`✗ failed in section ${title} at ${f.where}`))];
    if (f.command) out.push(`  command: ${f.command.split('\n').join('\n           ')}`);
    if (f.message) out.push(`  ${f.message}`);
    if (f.stderrTail.length > 0) {
      out.push('  last lines of stderr:');
      for (const l of f.stderrTail) out.push(`  ${e.dim('│')} ${l}`);
    }
    return out;
  };

  /** New traffic: the live view (in place on a TTY, a plain line now and then elsewhere). */
  const showTraffic = (samples: readonly Summary[]) => {
    const newest = samples[samples.length - 1];
    if (!newest) return;
    for (const v of Object.keys(newest.byVersion)) if (!versionsSeen.includes(v)) versionsSeen.push(v);
    versionsSeen.sort();
    // Built only when drawn: without a TTY most calls draw nothing.
    const window = () => lastWindow(samples, Date.parse(newest.ts), LIVE_WINDOW_MS);
    if (live) {
      term.show([s.dim(`── traffic, last ${LIVE_WINDOW_MS / 1000} s ──`), ...renderBars(window(), versionsSeen, { color })]);
      return;
    }
    const now = Date.now();
    if (now - lastPlain < PLAIN_EVERY_MS) return;
    lastPlain = now;
    line(s.dim(renderLine(window(), versionsSeen)));
  };

  const note = (message: string) => {
    if (!term.atLineStart) write('\n');
    err.write(`${e.yellow(message)}\n`);
    term.movedTo({ lineStart: true });
  };

  return {
    onEvent(ev) {
      switch (ev.type) {
        case 'run-start':
          fileName = ev.file;
          target = ev.target;
          defaultTarget = ev.defaultTarget;
          break;
        case 'section-start': {
          const { section } = ev;
          otherTarget = [];
          ranHere = false;
          if (section.number === 0) break;
          const up = bringingUp.has(section) ? ', brought up' : '';
          line(s.bold(`${'#'.repeat(Math.max(1, section.depth))} ${section.number}. ${section.title}`) + s.dim(`  (${fileName}:${section.line}${up})`));
          break;
        }
        case 'bring-up':
          bringingUp = new Set(ev.sections);
          line(bringUpLine(ev.only, ev.sections, s));
          break;
        case 'section-skipped':
          line(s.yellow(`↷ skipped section ${ev.section.number}. ${ev.section.title}`));
          // Skipping is a choice (say, to keep the demo running), but its cleanup should not be
          // forgotten: say what did not run and how to run it later.
          if (ev.alwaysBlocks > 0) {
            const later = onlyCommand(fileName, target, ev.section, defaultTarget);
            line(s.dim(`  its ${ev.alwaysBlocks === 1 ? 'always block' : `${ev.alwaysBlocks} always blocks`} did not run; later: ${later}`));
          }
          break;
        case 'block-start':
          ranHere = true;
          line(s.dim(`${where(ev.block)}${ev.always ? ' (always)' : ''}${ev.block.kind === 'background' ? ` (background: ${ev.block.name})` : ''}`));
          line(commandText(ev.block.text));
          blocksStarted++;
          break;
        case 'block-output':
          if (ev.stream === 'stdout') {
            write(ev.chunk.toString('utf8'));
          } else {
            // Keep stderr on stderr, but remember where the cursor is if both are the terminal.
            if (err.isTTY) term.erase();
            err.write(ev.chunk);
            if (err.isTTY && tty) term.movedTo({ lineStart: ev.chunk.toString('utf8').endsWith('\n') });
          }
          break;
        case 'block-end': {
          const { result } = ev;
          const secs = (ev.durationMs / 1000).toFixed(1);
          if (result.code === 0) line(s.green(`✓ ${secs}s`));
          else if (result.timedOut) line(s.red(`✗ timed out after ${secs}s`));
          else line(s.red(`✗ ${result.signal ? `killed by ${result.signal}` : `exit ${result.code}`} after ${secs}s`));
          break;
        }
        case 'block-skipped':
          if (ev.reason === 'target') {
            otherTarget.push(ev.block);
          } else {
            line(s.dim(`${where(ev.block)} (skip=true: shown, not run)`));
            line(s.dim(indentText(ev.block.text, '  ')));
          }
          break;
        case 'block-shown':
          // A diagram's source says nothing in a terminal: point at where it is drawn.
          if (ev.block.lang === 'mermaid') {
            line(s.dim(`${where(ev.block)} (diagram: rendered where the Markdown is, e.g. on GitHub)`));
            break;
          }
          line(s.dim(`${where(ev.block)}${ev.block.lang ? ` (${ev.block.lang})` : ''}`));
          line(s.dim(indentText(ev.block.text, '  ')));
          break;
        case 'stage-applied': {
          ranHere = true;
          const split = ev.split ? s.dim(`  split ${ev.split.apex}: ${ev.split.backends.map((b) => `${b.service}=${b.weight}`).join(' ')} (${splitLabel(ev.split)})`) : '';
          line(`${s.yellow('✎')} ${fileName}:${ev.line} → ${ev.file}${split}`);
          if (ev.diff) line(s.dim(ev.diff.replace(/\n$/, '')));
          break;
        }
        case 'background-started':
          line(s.dim(`↳ ${ev.name} started (pid ${ev.pid}), log ${ev.log}`));
          break;
        case 'background-ready':
          line(s.green(`✓ ${ev.name} ready`));
          break;
        case 'background-output': {
          const text = `${s.dim(`[${ev.name}]`)} ${ev.line}`;
          if (term.promptShown && tty) {
            term.aboveThePrompt(`${text}\n`);
          } else {
            line(text);
          }
          break;
        }
        case 'background-stopped':
          if (!ev.expected && ev.code !== 0) {
            line(s.yellow(`! background ${ev.name} ended on its own (${ev.signal ?? `exit ${ev.code}`})`));
          } else if (!ev.expected) {
            // e.g. a log follower whose process was stopped by a later block
            line(s.dim(`■ ${ev.name} ended (exit 0)`));
          } else {
            line(s.dim(`■ ${ev.name} stopped`));
          }
          break;
        case 'files-restored':
          if (ev.files.length > 0) line(s.dim(`↺ restored ${ev.files.length} edited file(s): ${ev.files.join(', ')}`));
          // The edit stays in these files: say so, loudly, rather than leave a silent diff.
          for (const f of ev.failed) line(s.yellow(`! could not put back ${f}: it keeps the run's edits`));
          break;
        case 'traffic':
          showTraffic(ev.samples);
          break;
        case 'check-started':
          line(s.dim(`… ${ev.what}`));
          break;
        case 'check-decided':
          line(ev.ok ? s.green(`✓ ${ev.line}`) : s.red(`✗ ${ev.line}`));
          break;
        case 'check-skipped':
          note(ev.line);
          break;
        case 'run-end': {
          term.drop();
          const secs = (ev.durationMs / 1000).toFixed(1);
          if (ev.failure) for (const l of failureLines(ev.failure)) err.write(`${l}\n`);
          if (ev.status === 'done') line(s.green(s.bold(`✓ done in ${secs}s`)));
          else if (ev.status === 'interrupted') err.write(e.yellow(`interrupted after ${secs}s (exit ${ev.exitCode})\n`));
          else err.write(e.red(`run failed after ${secs}s (exit ${ev.exitCode})\n`));
          break;
        }
        case 'section-end':
          if (!ranHere && otherTarget.length > 0) {
            const targets = [...new Set(otherTarget.map((b) => b.target))].join(' and ');
            line(s.dim(`↷ nothing to run here on target ${target} (${otherTarget.length === 1 ? 'one block' : `${otherTarget.length} blocks`} for ${targets}, see --list --target ${otherTarget[0]!.target})`));
          }
          break;
      }
    },

    list(plan) {
      for (const l of listLines(plan, s)) line(l);
    },

    dryRun(plan, diffs) {
      for (const l of dryRunLines(plan, diffs, s)) line(l);
    },

    json(value) {
      write(`${JSON.stringify(value, null, 2)}\n`);
    },

    sectionIntro(section) {
      line();
      line(s.bold(`${section.number}. ${section.title}`));
      if (section.intro) line(s.dim(section.intro));
    },

    prompt: term.prompt,

    report(file) {
      line(s.dim(`report written to ${file}`));
    },

    leftRunning(plan) {
      const teardown = teardownSection(plan);
      if (!teardown || blocksStarted === 0) return;
      const runs = teardown.blocks.filter((b) => b.kind === 'run' && (b.target === null || b.target === plan.target)).map((b) => b.text.split('\n', 1)[0]);
      const how = runs.length ? ` (it runs: ${runs.join('; ')})` : '';
      line(s.yellow(`the demo stays up, to look at; stop it with: ${onlyCommand(plan.document.file, plan.target, teardown, plan.document.config.defaultTarget)}${how}`));
    },

    results(file) {
      line(s.dim(`JUnit results written to ${file}`));
    },

    promptDone: term.promptDone,

    waiting(seconds) {
      line(s.dim(`(next section in ${seconds}s)`));
    },

    note,

    error(message) {
      if (!term.atLineStart) write('\n');
      err.write(`${e.red(`runner: ${message}`)}\n`);
      term.movedTo({ lineStart: true });
    },
  };
}
