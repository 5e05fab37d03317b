// Document + options in, ordered steps out. Pure: --list, --dry-run and --json print a
// Plan, and execute walks one.

import type { Target } from './attributes.ts';
import type { Block, Document, Section } from './document.ts';
import { UsageError } from './errors.ts';
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
}

export interface Plan {
  document: Document;
  target: Target;
  sections: PlannedSection[];
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
  let chosen = all;
  if (options.only !== undefined) {
    const i = findSection(document, options.only, '--only');
    const depth = all[i]!.depth;
    let end = i + 1;
    while (end < all.length && all[end]!.depth > depth) end++;
    chosen = all.slice(i, end);
  } else if (options.from !== undefined) {
    chosen = all.slice(findSection(document, options.from, '--from'));
  }
  return {
    document,
    target: options.target,
    sections: chosen.map((section) => ({ section, steps: section.blocks.map((b) => stepFor(b, options.target)) })),
  };
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
  return plan.sections.map(({ section, steps }) => ({
    number: section.number,
    id: section.id,
    title: section.title,
    depth: section.depth,
    line: section.line,
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
