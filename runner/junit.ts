// The run as JUnit XML (--junit FILE), the results format CI systems read: one testcase per
// block of the plan (run, background, stage edit; skipped ones as skipped, with why) and one
// per check (a stage's shares, each traffic claim) with its verdict line. It listens to run
// events like the UI and is written at the end whatever the outcome: done, failed or
// interrupted (a block or check never reached is a skipped testcase, so the counts always
// cover the whole plan).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Block, Section } from './document.ts';
import type { Failure, RunEvent, RunStatus } from './events.ts';
import type { CheckRecord } from './observe/observer.ts';
import type { Claim } from './observe/claims.ts';
import { isActive, type Plan } from './plan.ts';

const STDERR_TAIL_LINES = 10;

interface Case {
  classname: string;
  name: string;
  timeMs: number;
  failure?: { message: string; body: string };
  skipped?: string;
  out?: string;
}

export interface JunitCollector {
  listener: (e: RunEvent) => void;
  /** Write the file: the blocks seen through events, the checks the observer decided. */
  write(file: string, checks: readonly CheckRecord[]): string;
}

const sectionName = (s: Section) => (s.number === 0 ? s.title : `${s.number}. ${s.title}`);

export function createJunit(plan: Plan, claims: ReadonlyMap<Section, readonly Claim[]>): JunitCollector {
  const file = plan.document.file;
  const sectionOf = new Map<Block, Section>();
  for (const { section, steps } of plan.sections) for (const { block } of steps) sectionOf.set(block, section);
  const cases = new Map<Block, Case>();
  const started = new Map<Block, number>();
  const stderr = new Map<Block, string>();
  const userSkipped = new Set<Section>();
  let status: RunStatus | undefined;
  let failure: Failure | null = null;
  let startedAt = Date.now();
  let durationMs = 0;

  const blockCase = (block: Block, label: string): Case => ({
    classname: sectionName(sectionOf.get(block) ?? ({ number: block.section, title: '' } as Section)),
    name: `${label} ${file}:${block.line}`,
    timeMs: 0,
  });
  const label = (b: Block) => (b.kind === 'background' ? `background ${b.name}` : b.kind === 'stage' ? `stage edit ${b.file}` : b.attrs.always ? 'run always' : 'run');

  const listener = (e: RunEvent) => {
    switch (e.type) {
      case 'run-start':
        startedAt = Date.now();
        break;
      case 'section-skipped':
        userSkipped.add(e.section);
        break;
      case 'block-start':
        started.set(e.block, Date.now());
        cases.set(e.block, blockCase(e.block, label(e.block)));
        break;
      case 'block-output':
        if (e.stream === 'stderr') stderr.set(e.block, ((stderr.get(e.block) ?? '') + e.chunk.toString('utf8')).slice(-16_384));
        break;
      case 'block-end': {
        const c = cases.get(e.block) ?? blockCase(e.block, label(e.block));
        c.timeMs = e.durationMs;
        const r = e.result;
        if (r.code !== 0) {
          const how = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
          c.failure = { message: how, body: failureBody(e.block.text, r.code, stderrTail(stderr.get(e.block))) };
        }
        cases.set(e.block, c);
        break;
      }
      case 'background-ready': {
        const c = cases.get(e.block);
        if (c) c.timeMs = Date.now() - (started.get(e.block) ?? Date.now());
        break;
      }
      case 'stage-applied':
        cases.set(e.block, blockCase(e.block, label(e.block)));
        break;
      case 'block-skipped': {
        const c = blockCase(e.block, label(e.block));
        c.skipped = e.reason === 'target' ? `only for target ${e.block.target}` : 'skip=true: shown, not run';
        cases.set(e.block, c);
        break;
      }
      case 'run-end':
        status = e.status;
        failure = e.failure;
        durationMs = e.durationMs;
        // The failing line and bash's stderr, as the run reported them.
        if (e.failure?.block) {
          const c = cases.get(e.failure.block) ?? blockCase(e.failure.block, label(e.failure.block));
          c.failure = {
            message: e.failure.message || 'failed',
            body: failureBody(e.failure.command ?? e.failure.block.text, e.failure.code, e.failure.stderrTail),
          };
          cases.set(e.failure.block, c);
        }
        break;
    }
  };

  return {
    listener,
    write(out, checks) {
      const all: Case[] = [];
      const notRun = status === 'interrupted' ? 'not run: the run was interrupted first' : 'not run: the run stopped before it';
      for (const { section, steps } of plan.sections) {
        for (const step of steps) {
          const c = cases.get(step.block);
          if (c) all.push(c);
          else if (isActive(step)) all.push({ ...blockCase(step.block, label(step.block)), skipped: userSkipped.has(section) ? 'section skipped at the prompt' : notRun });
        }
        const decided = checks.filter((k) => k.section === section.title);
        for (const k of decided) {
          const c: Case = { classname: sectionName(section), name: `${k.name} ${k.where}`, timeMs: k.durationMs, out: k.line };
          if (!k.ok) c.failure = { message: k.line, body: k.line };
          all.push(c);
        }
        // A section that edits a split has a stage check; one never decided is skipped.
        const lastEdit = steps.filter((st) => st.action === 'stage').at(-1);
        if (lastEdit && !decided.some((k) => k.name.startsWith('stage '))) {
          all.push({ classname: sectionName(section), name: `stage ${file}:${lastEdit.block.line}`, timeMs: 0, skipped: 'stage shares not checked' });
        }
        for (const claim of claims.get(section) ?? []) {
          const where = `${file}:${claim.line}`;
          if (decided.some((k) => k.where === where)) continue;
          all.push({ classname: sectionName(section), name: `${claim.kind} ${where}`, timeMs: 0, skipped: `not checked: ${claim.text}` });
        }
      }
      const xml = render(`${file} (target ${plan.target})`, all, startedAt, durationMs, failure && !failure.block ? failure.message : undefined);
      const path = resolve(out);
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, xml);
      renameSync(tmp, path);
      return path;
    },
  };
}

function stderrTail(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-STDERR_TAIL_LINES);
}

function failureBody(command: string, code: number | null, tail: readonly string[]): string {
  return [`command: ${command}`, `exit code: ${code ?? 'none'}`, ...(tail.length ? ['stderr (last lines):', ...tail] : [])].join('\n');
}

function render(name: string, cases: Case[], startedAt: number, durationMs: number, runMessage?: string): string {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const body = cases
    .map((c) => {
      const open = `    <testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${secs(c.timeMs)}"`;
      const inner = [
        c.skipped !== undefined ? `      <skipped message="${attr(c.skipped)}"/>` : '',
        c.failure ? `      <failure message="${attr(c.failure.message)}">${text(c.failure.body)}</failure>` : '',
        c.out ? `      <system-out>${text(c.out)}</system-out>` : '',
      ].filter(Boolean);
      return inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`;
    })
    .join('\n');
  const suite = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(durationMs)}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="runner" ${suite}>
  <testsuite name="${attr(name)}" ${suite} timestamp="${new Date(startedAt).toISOString().replace(/\.\d+Z$/, '')}">
${body}${runMessage ? `\n    <system-err>${text(runMessage)}</system-err>` : ''}
  </testsuite>
</testsuites>
`;
}

// XML 1.0 has no escape for most control characters: drop them (and terminal colour codes).
const clean = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '');
const text = (s: string) => clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attr = (s: string) => text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
