// The one place that writes to the terminal: run events, --list, --dry-run, prompts and
// errors. Colour only on a TTY and never when NO_COLOR is set (https://no-color.org).

import type { Target } from './attributes.ts';
import type { Block, Section } from './document.ts';
import { shellWord } from './shell-word.ts';
import type { Failure, RunEvent } from './events.ts';
import { broughtUp, isActive, teardownSection, type JsonSection, type Plan, type PlannedSection } from './plan.ts';
import { splitLabel } from '../lib/split.ts';
import type { Summary } from '../lib/summary.ts';
import { lastWindow, renderBars, renderLine } from './observe/live-view.ts';
import { sectionClaims } from './observe/claims.ts';

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
  /** New traffic: the live view (in place on a TTY, a plain line now and then elsewhere). */
  traffic(samples: readonly Summary[]): void;
  /** A check (stage or traffic claim) starts waiting for evidence. */
  checking(what: string): void;
  /** A check's one-line verdict. */
  verdict(line: string, ok: boolean): void;
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
  let promptShown = false;
  // Whether the last foreground output ended a line, so background lines start on their own.
  let atLineStart = true;
  let fileName = '';
  let target: Target = 'local';
  // --only: the sections being brought up, marked as such when they start.
  let bringingUp = new Set<Section>();
  let blocksStarted = 0;
  // The live traffic view: lines kept at the bottom of a TTY, redrawn below whatever else is
  // written. Elsewhere (pipes, CI) it is a plain line now and then.
  const live = tty && !env.CI;
  let region: string[] = [];
  let regionDrawn = 0;
  let lastPlain = 0;
  const versionsSeen: string[] = [];
  // The current section: blocks left out for another target, and whether anything ran. A
  // section with nothing for this target says so once, at its end, instead of a line a block.
  let otherTarget: Block[] = [];
  let ranHere = false;

  const eraseRegion = () => {
    if (regionDrawn === 0) return;
    out.write(`${promptShown ? '\r\x1b[2K' : ''}\x1b[${regionDrawn}F\x1b[0J`);
    regionDrawn = 0;
  };
  const drawRegion = (atStartOfLine = atLineStart) => {
    if (!live || region.length === 0 || regionDrawn > 0 || !atStartOfLine) return;
    out.write(`${region.join('\n')}\n`);
    regionDrawn = region.length;
  };
  /** Under a shown prompt: replace the prompt line with `text` (may be empty), the view, the prompt. */
  const aboveThePrompt = (text: string) => {
    if (regionDrawn > 0) eraseRegion();
    else out.write('\r\x1b[2K');
    out.write(text);
    drawRegion(true);
    out.write(PROMPT);
  };

  const write = (text: string) => {
    eraseRegion();
    out.write(text);
    if (text.length > 0) atLineStart = text.endsWith('\n');
    drawRegion();
  };
  const line = (text = '') => {
    if (!atLineStart) write('\n');
    write(`${text}\n`);
  };

  const commandText = (text: string) =>
    text
      .split('\n')
      .map((l, i) => s.cyan(`${i === 0 ? '$' : ' '} ${l}`))
      .join('\n');

  const where = (block: Block) => `${fileName}:${block.line}`;

  /** The command that runs one section of this document on this target. */
  const onlyCommand = (file: string, t: Target, section: Section) =>
    ['node runner.mjs', shellWord(file), ...(t === 'local' ? [] : ['--target', t]), '--only', section.id].join(' ');

  const bringUpLine = (only: Section, sections: readonly Section[]) =>
    s.cyan(`↑ bringing up what ${only.id} needs, without prompting: ${sections.map((x) => x.id).join(', ')}`);

  /** --list and --dry-run: a section's declared needs, and whether --only brings it up. */
  const needsLine = (plan: Plan, { section, broughtUp: up }: PlannedSection, indent: string): string | null => {
    const needs = (plan.needs.get(section) ?? []).map((n) => n.section.id);
    const parts = [...(up ? [`brought up for ${plan.only!.id}`] : []), ...(needs.length ? [`needs ${needs.join(' ')}`] : [])];
    return parts.length ? s.dim(`${indent}(${parts.join('; ')})`) : null;
  };

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

  return {
    onEvent(ev) {
      switch (ev.type) {
        case 'run-start':
          fileName = ev.file;
          target = ev.target;
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
          line(bringUpLine(ev.only, ev.sections));
          break;
        case 'section-skipped':
          line(s.yellow(`↷ skipped section ${ev.section.number}. ${ev.section.title}`));
          // Skipping is a choice (say, to keep the demo running), but its cleanup should not be
          // forgotten: say what did not run and how to run it later.
          if (ev.alwaysBlocks > 0) {
            const later = onlyCommand(fileName, target, ev.section);
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
            if (err.isTTY) eraseRegion();
            err.write(ev.chunk);
            if (err.isTTY && tty) atLineStart = ev.chunk.toString('utf8').endsWith('\n');
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
          if (promptShown && tty) {
            aboveThePrompt(`${text}\n`);
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
        case 'run-end': {
          eraseRegion();
          region = [];
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
      const doc = plan.document;
      line(s.bold(`${doc.file}`) + s.dim(` (target ${plan.target})`));
      const up = broughtUp(plan);
      if (plan.only && up.length) line(bringUpLine(plan.only, up));
      for (const planned of plan.sections) {
        const { section, steps } = planned;
        const indent = '  '.repeat(Math.max(0, section.depth - 1));
        line(`${String(section.number).padStart(3)}  ${indent}${s.bold(section.title)}  ${s.dim(`#${section.id}`)}`);
        const needs = needsLine(plan, planned, `     ${indent}  `);
        if (needs) line(needs);
        for (const step of steps) {
          if (!isActive(step)) continue;
          const b = step.block;
          const lines = b.text.split('\n');
          const first = b.kind === 'stage' ? `→ ${b.file}` : lines[0]!;
          const more = b.kind !== 'stage' && lines.length > 1 ? s.dim(` (+${lines.length - 1} line${lines.length > 2 ? "s" : ""})`) : '';
          line(`     ${indent}  ${s.dim(`line ${String(b.line).padEnd(4)}`)} ${kindLabel(b).padEnd(10)} ${first}${more}`);
        }
        for (const c of sectionClaims(doc.file, section)) line(`     ${indent}  ${s.dim(`line ${String(c.line).padEnd(4)}`)} ${'expect'.padEnd(10)} ${c.text}`);
      }
    },

    dryRun(plan, diffs) {
      const doc = plan.document;
      line(s.bold(`${doc.file}`) + s.dim(` (target ${plan.target}, dry run: nothing is executed)`));
      const up = broughtUp(plan);
      if (plan.only && up.length) line(bringUpLine(plan.only, up));
      for (const planned of plan.sections) {
        const { section, steps } = planned;
        line();
        line(s.bold(`${'#'.repeat(Math.max(1, section.depth))} ${section.number}. ${section.title}`) + s.dim(`  #${section.id} (${doc.file}:${section.line})`));
        const needs = needsLine(plan, planned, '  ');
        if (needs) line(needs);
        for (const step of steps) {
          const b = step.block;
          if (step.action === 'show') continue;
          if (step.action === 'skip') {
            line(s.dim(`  ${doc.file}:${b.line} skipped (${step.reason === 'target' ? `target ${b.target}` : 'skip=true'})`));
            continue;
          }
          line(s.dim(`  ${doc.file}:${b.line} ${kindLabel(b)}${attrSummary(b)}`));
          if (b.kind === 'stage') {
            const diff = diffs.get(b);
            line(diff ? indentText(diff.replace(/\n$/, ''), '    ') : '    (no change)');
          } else {
            line(indentText(b.text, '    '));
          }
        }
        for (const c of sectionClaims(doc.file, section)) {
          line(s.dim(`  ${doc.file}:${c.line} expect (checked when the section ends, ${c.client} client)`));
          line(`    ${c.text}`);
        }
      }
    },

    json(value) {
      write(`${JSON.stringify(value, null, 2)}\n`);
    },

    sectionIntro(section) {
      line();
      line(s.bold(`${section.number}. ${section.title}`));
      if (section.intro) line(s.dim(section.intro));
    },

    prompt() {
      if (!atLineStart) write('\n');
      drawRegion();
      promptShown = true;
      out.write(PROMPT);
      atLineStart = false;
    },

    traffic(samples) {
      const newest = samples[samples.length - 1];
      if (!newest) return;
      for (const v of Object.keys(newest.byVersion)) if (!versionsSeen.includes(v)) versionsSeen.push(v);
      versionsSeen.sort();
      // Built only when drawn: without a TTY most calls draw nothing.
      const window = () => lastWindow(samples, Date.parse(newest.ts), LIVE_WINDOW_MS);
      if (live) {
        region = [s.dim(`── traffic, last ${LIVE_WINDOW_MS / 1000} s ──`), ...renderBars(window(), versionsSeen, { color })];
        if (promptShown) return aboveThePrompt('');
        if (regionDrawn === 0 && !atLineStart) return; // drawn once the current line ends
        eraseRegion();
        drawRegion();
        return;
      }
      const now = Date.now();
      if (now - lastPlain < PLAIN_EVERY_MS) return;
      lastPlain = now;
      line(s.dim(renderLine(window(), versionsSeen)));
    },

    checking(what) {
      line(s.dim(`… ${what}`));
    },

    verdict(text, ok) {
      line(ok ? s.green(`✓ ${text}`) : s.red(`✗ ${text}`));
    },

    report(file) {
      line(s.dim(`report written to ${file}`));
    },

    leftRunning(plan) {
      const teardown = teardownSection(plan);
      if (!teardown || blocksStarted === 0) return;
      const runs = teardown.blocks.filter((b) => b.kind === 'run' && (b.target === null || b.target === plan.target)).map((b) => b.text.split('\n', 1)[0]);
      const how = runs.length ? ` (it runs: ${runs.join('; ')})` : '';
      line(s.yellow(`the demo stays up, to look at; stop it with: ${onlyCommand(plan.document.file, plan.target, teardown)}${how}`));
    },

    results(file) {
      line(s.dim(`JUnit results written to ${file}`));
    },

    promptDone(answer) {
      if (regionDrawn > 0) {
        // Put the answered prompt above the view, where the next output continues.
        eraseRegion();
        promptShown = false;
        write(`${PROMPT}${answer}\n`);
        return;
      }
      promptShown = false;
      write(`${answer}\n`);
    },

    waiting(seconds) {
      line(s.dim(`(next section in ${seconds}s)`));
    },

    note(message) {
      if (!atLineStart) write('\n');
      err.write(`${e.yellow(message)}\n`);
      atLineStart = true;
    },

    error(message) {
      if (!atLineStart) write('\n');
      err.write(`${e.red(`runner: ${message}`)}\n`);
      atLineStart = true;
    },
  };
}

function kindLabel(b: Block): string {
  if (b.kind === 'background') return `background`;
  if (b.kind === 'stage') return 'stage';
  return b.attrs.always ? 'run always' : 'run';
}

function attrSummary(b: Block): string {
  const parts: string[] = [];
  if (b.kind === 'stage') parts.push(`→ ${b.file}`);
  if (b.kind === 'background') parts.push(`name=${b.name}`);
  if (b.attrs.ready !== undefined) parts.push(`ready=/${b.attrs.ready}/`);
  if (b.attrs.timeoutMs !== undefined) parts.push(`timeout=${b.attrs.timeoutMs / 1000}s`);
  if (b.target) parts.push(`target=${b.target}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function indentText(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? '' : prefix + l))
    .join('\n');
}
