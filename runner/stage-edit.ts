// Stage edits on disk: each ```yaml {file=...} block merged (yaml-merge.ts) into its file,
// the originals kept and put back at the end (or on process exit, in case the runner dies
// some other way), --keep-changes, the writability check before a run, and the dry run
// that applies every edit in memory for --dry-run and the preflight.

import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unifiedDiff } from './diff.ts';
import type { Block, Document } from './document.ts';
import { DocumentError } from './errors.ts';
import type { Plan } from './plan.ts';
import { computeEdit, type StageEdit } from './yaml-merge.ts';

export type { StageEdit } from './yaml-merge.ts';

/** A stage edit's file is not there: an earlier block may create it, so a dry run cannot tell. */
export class MissingFileError extends DocumentError {}

/** Throws DocumentError if the run could not write the block's file (checked before anything runs). */
export function checkWritable(doc: Pick<Document, 'file' | 'dir'>, block: Block): void {
  try {
    accessSync(path.resolve(doc.dir, block.file!), constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // an earlier block may create it
    throw new DocumentError(doc.file, block.line, `${block.file}: cannot write (${code ?? String(e)})`);
  }
}

/** Files put back (as the blocks named them), and files that could not be (with why). */
export interface Restored {
  done: string[];
  failed: string[];
}

/**
 * Applies edits to files and puts them back. Originals are kept the first time a file is
 * touched; restore() writes them back (and is also hooked to process exit, in case the
 * runner dies some other way).
 */
export interface Stager {
  apply(block: Block): StageEdit;
  /** Puts back every file it changed. */
  restore(): Restored;
  /** Leave the files as edited (--keep-changes). */
  keep(): void;
}

export function createStager(doc: Pick<Document, 'file' | 'dir'>, options: { write: boolean }): Stager {
  const originals = new Map<string, { file: string; text: string }>();
  // In a dry run edits stack up in memory, so a later edit diffs against the earlier one.
  const overlay = new Map<string, string>();
  const readCurrent = (block: Block, p: string): string => {
    const inMemory = overlay.get(p);
    if (inMemory !== undefined) return inMemory;
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MissingFileError(doc.file, block.line, `${block.file}: cannot read (no such file)`);
      throw new DocumentError(doc.file, block.line, `${block.file}: cannot read (${code})`);
    }
  };
  const restoreSync = (): Restored => {
    const done: string[] = [];
    const failed: string[] = [];
    for (const [p, { file, text }] of originals) {
      try {
        writeFileSync(p, text);
        done.push(file);
      } catch (e) {
        failed.push(`${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
    originals.clear();
    return { done, failed };
  };
  const onExit = () => restoreSync();
  return {
    apply(block) {
      const p = path.resolve(doc.dir, block.file!);
      const current = readCurrent(block, p);
      const edit = computeEdit(doc, block, current);
      if (options.write) {
        if (!originals.has(p)) {
          if (originals.size === 0) process.on('exit', onExit);
          originals.set(p, { file: block.file!, text: current });
        }
        try {
          writeFileSync(p, edit.after);
        } catch (e) {
          // Read-only file or file system: nothing was written (the open fails first).
          throw new DocumentError(doc.file, block.line, `${block.file}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        }
      } else {
        overlay.set(p, edit.after);
      }
      return edit;
    },
    restore() {
      process.off('exit', onExit);
      return restoreSync();
    },
    keep() {
      process.off('exit', onExit);
      originals.clear();
    },
  };
}

/**
 * The plan's stage edits applied in memory one after another, as the run would; `edit` is
 * null for a file that does not exist yet. Lazy, so a caller's own check on one edit fails
 * before a later edit is tried. Any other problem throws DocumentError.
 */
export function* dryApply(plan: Pick<Plan, 'document' | 'sections'>): Generator<{ block: Block; edit: StageEdit | null }> {
  const stager = createStager(plan.document, { write: false });
  for (const { steps } of plan.sections) {
    for (const { action, block } of steps) {
      if (action !== 'stage') continue;
      let edit: StageEdit | null;
      try {
        edit = stager.apply(block);
      } catch (e) {
        if (!(e instanceof MissingFileError)) throw e;
        edit = null;
      }
      yield { block, edit };
    }
  }
}

/** Each stage edit's diff, applied in memory one after another as the run would (--dry-run). */
export function stageDiffs(plan: Pick<Plan, 'document' | 'sections'>): Map<Block, string> {
  const diffs = new Map<Block, string>();
  for (const { block, edit } of dryApply(plan)) {
    // A file an earlier block creates: its diff can only be known when the run gets there.
    diffs.set(block, edit ? unifiedDiff(edit.file, edit.before, edit.after) : `(${block.file} does not exist yet; an earlier block must create it)\n`);
  }
  return diffs;
}
