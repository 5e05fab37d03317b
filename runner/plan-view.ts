// The plan as --list and --dry-run print it: per section its number, id and needs, the
// blocks that would run (with their attributes, and each stage edit's diff for --dry-run) and
// its traffic claims. Pure: a plan and a style in, lines out; the UI writes them.

import type { Block, Section } from './document.ts';
import { sectionClaims } from './observe/claims.ts';
import { broughtUp, isActive, type Plan, type PlannedSection } from './plan.ts';
import type { Style } from './ui.ts';

/** --only: the one line that says what is brought up, and for which section. */
export function bringUpLine(only: Section, sections: readonly Section[], s: Style): string {
  return s.cyan(`↑ bringing up what ${only.id} needs, without prompting: ${sections.map((x) => x.id).join(', ')}`);
}

/** A section's declared needs, and whether --only brings it up. */
function needsLine(plan: Plan, { section, broughtUp: up }: PlannedSection, s: Style, indent: string): string | null {
  const needs = (plan.needs.get(section) ?? []).map((n) => n.section.id);
  const parts = [...(up ? [`brought up for ${plan.only!.id}`] : []), ...(needs.length ? [`needs ${needs.join(' ')}`] : [])];
  return parts.length ? s.dim(`${indent}(${parts.join('; ')})`) : null;
}

export function listLines(plan: Plan, s: Style): string[] {
  const out: string[] = [];
  const doc = plan.document;
  out.push(s.bold(`${doc.file}`) + s.dim(` (target ${plan.target})`));
  const up = broughtUp(plan);
  if (plan.only && up.length) out.push(bringUpLine(plan.only, up, s));
  for (const planned of plan.sections) {
    const { section, steps } = planned;
    const indent = '  '.repeat(Math.max(0, section.depth - 1));
    out.push(`${String(section.number).padStart(3)}  ${indent}${s.bold(section.title)}  ${s.dim(`#${section.id}`)}`);
    const needs = needsLine(plan, planned, s, `     ${indent}  `);
    if (needs) out.push(needs);
    for (const step of steps) {
      if (!isActive(step)) continue;
      const b = step.block;
      const lines = b.text.split('\n');
      const first = b.kind === 'stage' ? `→ ${b.file}` : lines[0]!;
      const more = b.kind !== 'stage' && lines.length > 1 ? s.dim(` (+${lines.length - 1} line${lines.length > 2 ? "s" : ""})`) : '';
      out.push(`     ${indent}  ${s.dim(`line ${String(b.line).padEnd(4)}`)} ${kindLabel(b).padEnd(10)} ${first}${more}`);
    }
    for (const c of sectionClaims(doc.file, section)) out.push(`     ${indent}  ${s.dim(`line ${String(c.line).padEnd(4)}`)} ${'expect'.padEnd(10)} ${c.text}`);
  }
  return out;
}

export function dryRunLines(plan: Plan, diffs: ReadonlyMap<Block, string>, s: Style): string[] {
  const out: string[] = [];
  const doc = plan.document;
  out.push(s.bold(`${doc.file}`) + s.dim(` (target ${plan.target}, dry run: nothing is executed)`));
  const up = broughtUp(plan);
  if (plan.only && up.length) out.push(bringUpLine(plan.only, up, s));
  for (const planned of plan.sections) {
    const { section, steps } = planned;
    out.push('');
    out.push(s.bold(`${'#'.repeat(Math.max(1, section.depth))} ${section.number}. ${section.title}`) + s.dim(`  #${section.id} (${doc.file}:${section.line})`));
    const needs = needsLine(plan, planned, s, '  ');
    if (needs) out.push(needs);
    for (const step of steps) {
      const b = step.block;
      if (step.action === 'show') continue;
      if (step.action === 'skip') {
        out.push(s.dim(`  ${doc.file}:${b.line} skipped (${step.reason === 'target' ? `target ${b.target}` : 'skip=true'})`));
        continue;
      }
      out.push(s.dim(`  ${doc.file}:${b.line} ${kindLabel(b)}${attrSummary(b)}`));
      if (b.kind === 'stage') {
        const diff = diffs.get(b);
        out.push(diff ? indentText(diff.replace(/\n$/, ''), '    ') : '    (no change)');
      } else {
        out.push(indentText(b.text, '    '));
      }
    }
    for (const c of sectionClaims(doc.file, section)) {
      out.push(s.dim(`  ${doc.file}:${c.line} expect (checked when the section ends, ${c.client} client)`));
      out.push(`    ${c.text}`);
    }
  }
  return out;
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

export function indentText(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? '' : prefix + l))
    .join('\n');
}
