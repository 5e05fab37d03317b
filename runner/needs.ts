// Section dependencies: `<!-- runner:needs ID ID ... -->` under a heading says which earlier
// sections must have run for this one to work. Declarations are direct (what the section's
// own blocks use); `--only` follows them transitively. Needing a section means needing it
// with its subsections, as `--only` would run it. Pure: the document in, checked needs out.
//
// Checked before anything runs, each problem one FILE:LINE error (exit 2): an id no heading
// has, a cycle (which includes a section needing itself or a section that contains it), and a
// need that points forward (a section can only need what the reader has passed already).

import type { Document, Section } from './document.ts';
import { DocumentError } from './errors.ts';

/** One declared need: the section named, and the line of the directive that names it. */
export interface Need {
  section: Section;
  line: number;
}

/** Each section's direct needs as declared, in the order written (no duplicates). */
export type Needs = ReadonlyMap<Section, readonly Need[]>;

export function readNeeds(document: Document): Needs {
  const byId = new Map(document.sections.filter((s) => s.number > 0).map((s) => [s.id, s]));
  const needs = new Map<Section, Need[]>();
  for (const section of document.sections) {
    for (const d of section.directives) {
      if (d.kind !== 'needs') continue;
      const fail = (detail: string) => new DocumentError(document.file, d.line, `runner:needs ${detail}`);
      if (section.number === 0) throw fail('above the first heading: put it under the heading of the section that needs it');
      const ids = d.args.split(' ').filter(Boolean);
      if (ids.length === 0) throw fail('names no section (write the ids of the sections this one needs, see --list)');
      const list = needs.get(section) ?? [];
      for (const id of ids) {
        const needed = byId.get(id);
        if (!needed) throw fail(`${JSON.stringify(id)}: no section has this id${suggest(id, [...byId.keys()])} (see --list)`);
        if (!list.some((n) => n.section === needed)) list.push({ section: needed, line: d.line });
      }
      needs.set(section, list);
    }
  }
  checkCycles(document, needs);
  for (const [section, list] of needs) {
    for (const { section: needed, line } of list) {
      if (needed.line > section.line) {
        throw new DocumentError(
          document.file,
          line,
          `runner:needs ${needed.id}: that section comes later (${document.file}:${needed.line}); a section can only need earlier ones`,
        );
      }
    }
  }
  return needs;
}

/** The section and its subsections: what `--only` runs, and what needing it brings. */
export function subtree(document: Document, section: Section): Section[] {
  const all = document.sections;
  const i = all.indexOf(section);
  let end = i + 1;
  while (end < all.length && all[end]!.depth > section.depth) end++;
  return all.slice(i, end);
}

/**
 * What `chosen` needs, directly or through what it needs, in document order, without the
 * chosen sections themselves.
 */
export function neededFor(document: Document, needs: Needs, chosen: readonly Section[]): Section[] {
  const inChosen = new Set(chosen);
  const found = new Set<Section>();
  const visit = (s: Section) => {
    for (const { section } of needs.get(s) ?? []) {
      for (const t of subtree(document, section)) {
        if (inChosen.has(t) || found.has(t)) continue;
        found.add(t);
        visit(t);
      }
    }
  };
  chosen.forEach(visit);
  return document.sections.filter((s) => found.has(s));
}

/**
 * A need is an edge to the needed section, and a section "contains" its subsections (needing
 * it brings them). A cycle over those edges can never be brought up in order.
 */
function checkCycles(document: Document, needs: Needs): void {
  const state = new Map<Section, 'open' | 'done'>();
  // The path to the current section: each step with how it was reached.
  const path: Array<{ section: Section; via: Need | 'contains' | null }> = [];
  const visit = (s: Section, via: Need | 'contains' | null) => {
    if (state.get(s) === 'done') return;
    if (state.get(s) === 'open') {
      const from = path.findIndex((p) => p.section === s);
      const steps = [...path.slice(from + 1), { section: s, via }];
      const words = steps.map((p, i) => `${(i === 0 ? s : steps[i - 1]!.section).id} ${p.via === 'contains' ? 'contains' : 'needs'} ${p.section.id}`);
      const closing = [...steps].reverse().find((p) => p.via !== 'contains' && p.via !== null)!.via as Need;
      throw new DocumentError(document.file, closing.line, `runner:needs forms a cycle: ${words.join(', ')}`);
    }
    state.set(s, 'open');
    path.push({ section: s, via });
    for (const n of needs.get(s) ?? []) visit(n.section, n);
    for (const child of subtree(document, s).slice(1)) visit(child, 'contains');
    path.pop();
    state.set(s, 'done');
  };
  for (const s of document.sections) visit(s, null);
}

/** ` (did you mean "x"?)` for an id one or two edits from a known one. */
function suggest(id: string, known: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(id, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
