// Document + options in, ordered steps out. Pure: --list, --dry-run and --json print a
// Plan, and execute walks one.

import type { Target } from './attributes.ts';
import type { Block, Document, Section } from './document.ts';
import { UsageError } from './errors.ts';
import { neededFor, readNeeds, subtree, type Needs } from './needs.ts';
import { sectionClaims, type Claim } from './observe/claims.ts';

export type StepAction = 'run' | 'background' | 'stage' | 'show' | 'skip';

export interface Step {
  block: Block;
  action: StepAction;
  /** Why a block is skipped: written for another target, or {skip=true}. */
  reason?: 'target' | 'skip';
}

export interface PlannedSection {
  section: Section;
  steps: Step[];
  /** --only: run first because the chosen section needs it; not prompted for, not checked. */
  broughtUp?: true;
}

export interface Plan {
  document: Document;
  target: Target;
  sections: PlannedSection[];
  /** Every section's declared needs (runner:needs), checked. */
  needs: Needs;
  /** --only: the section chosen (its subsections follow it in `sections`). */
  only?: Section;
}

export interface PlanOptions {
  target: Target;
  /** Section number or id: run it and its subsections. */
  only?: string;
  /** Section number or id: run from it to the end. Ignored with `only` (parseCli refuses both). */
  from?: string;
}

export function makePlan(document: Document, options: PlanOptions): Plan {
  const all = document.sections;
  // Before --only is looked up: a bad declaration is refused whatever the run would pick.
  const needs = readNeeds(document);
  const planned = (section: Section): PlannedSection => ({ section, steps: section.blocks.map((b) => stepFor(b, options.target)) });
  if (options.only !== undefined) {
    const only = all[findSection(document, options.only, '--only')]!;
    const chosen = subtree(document, only);
    // A needed section with nothing to run on this target (kind's Prep, locally) is left out.
    const broughtUp = neededFor(document, needs, chosen)
      .map((section): PlannedSection => ({ ...planned(section), broughtUp: true }))
      .filter((p) => p.steps.some(isActive));
    return { document, target: options.target, needs, only, sections: [...broughtUp, ...chosen.map(planned)] };
  }
  const chosen = options.from !== undefined ? all.slice(findSection(document, options.from, '--from')) : all;
  return { document, target: options.target, needs, sections: chosen.map(planned) };
}

/** --only: the sections brought up, in the order they run. */
export function broughtUp(plan: Plan): Section[] {
  return plan.sections.filter((p) => p.broughtUp).map((p) => p.section);
}

/**
 * The section that stops what the document starts, for the "stays up" hint after --only:
 * the first section after the chosen one with an `always` block (on any target: the author's
 * mark for teardown). null when the plan already includes it, when the document has none, or
 * when no section in the plan needs another (it relies on no state, so it leaves none up).
 */
export function teardownSection(plan: Plan): Section | null {
  if (!plan.only) return null;
  if (!plan.sections.some((p) => p.broughtUp || (plan.needs.get(p.section)?.length ?? 0) > 0)) return null;
  const all = plan.document.sections;
  const last = plan.sections[plan.sections.length - 1]!.section;
  return all.slice(all.indexOf(last) + 1).find((s) => s.blocks.some((b) => b.attrs.always && b.kind === 'run')) ?? null;
}

function stepFor(block: Block, target: Target): Step {
  if (block.target !== null && block.target !== target) return { block, action: 'skip', reason: 'target' };
  if (block.attrs.skip) return { block, action: 'skip', reason: 'skip' };
  return { block, action: block.kind };
}

/** A section by number ("3") or by id ("smi-extension"). */
export function findSection(document: Document, key: string, flag: string): number {
  const i = /^\d+$/.test(key)
    ? document.sections.findIndex((s) => s.number === Number(key))
    : document.sections.findIndex((s) => s.id === key);
  if (i < 0) throw new UsageError(`${flag} ${key}: no such section in ${document.file} (see --list)`);
  return i;
}

/** Steps that start processes or change files. */
export function isActive(step: Step): boolean {
  return step.action === 'run' || step.action === 'background' || step.action === 'stage';
}

/** The JSON shape of --list --json and --dry-run --json. */
export interface JsonSection {
  number: number;
  id: string;
  title: string;
  depth: number;
  line: number;
  /** Ids of the sections it declares it needs (runner:needs), as written. */
  needs: string[];
  /** --only: run first because the chosen section needs it. */
  broughtUp?: true;
  blocks: JsonBlock[];
  /** The section's traffic claims (`<!-- runner:expect ... -->`), checked when it ends. */
  claims: JsonClaim[];
}

/** A claim's parsed fields; `text` is the normalised directive, `line` where it stands. */
export type JsonClaim = Claim;

export interface JsonBlock {
  line: number;
  lang: string;
  kind: Block['kind'];
  target: Target | null;
  file: string | null;
  text: string;
  name?: string;
  always?: boolean;
  /** --dry-run only: the unified diff a stage edit would make. */
  diff?: string;
}

/** Blocks for another target are left out: on this target they do not exist. */
export function planToJson(plan: Plan, diffs?: ReadonlyMap<Block, string>): JsonSection[] {
  return plan.sections.map(({ section, steps, broughtUp }) => ({
    number: section.number,
    id: section.id,
    title: section.title,
    depth: section.depth,
    line: section.line,
    needs: (plan.needs.get(section) ?? []).map((n) => n.section.id),
    ...(broughtUp ? { broughtUp } : {}),
    blocks: steps
      .filter((s) => s.reason !== 'target')
      .map(({ block }) => {
        const out: JsonBlock = {
          line: block.line,
          lang: block.lang,
          kind: block.kind,
          target: block.target,
          file: block.file,
          text: block.text,
        };
        if (block.name !== null) out.name = block.name;
        if (block.attrs.always) out.always = true;
        const diff = diffs?.get(block);
        if (diff !== undefined) out.diff = diff;
        return out;
      }),
    claims: sectionClaims(plan.document.file, section),
  }));
}
