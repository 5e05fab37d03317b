// What a run reports. Execute and the traffic observer emit these and print nothing; the
// UI, the observer and the JUnit results subscribe.

import type { Split } from '../lib/split.ts';
import type { Summary } from '../lib/summary.ts';
import type { Target } from './attributes.ts';
import type { Block, Section } from './document.ts';
import type { BlockResult } from './shell.ts';

export type RunStatus = 'done' | 'failed' | 'interrupted';

export interface Failure {
  section: Section;
  /** The block that failed, if a block did (a section check may fail instead). */
  block: Block | null;
  /** `FILE:LINE` of the failing line (or of the block when bash did not say). */
  where: string;
  /** The source line(s) that failed, or bash's command. */
  command: string | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Last lines of the block's stderr. */
  stderrTail: string[];
  message: string;
  exitCode: number;
}

export type RunEvent =
  | { type: 'run-start'; file: string; target: Target; defaultTarget: Target; sections: number }
  /** --only: the sections `only` needs, about to run first without a prompt (see needs.ts). */
  | { type: 'bring-up'; only: Section; sections: Section[] }
  | { type: 'section-start'; section: Section }
  /** `alwaysBlocks`: how many always=true blocks the skip leaves unrun (cleanup the reader skipped). */
  | { type: 'section-skipped'; section: Section; reason: 'user'; alwaysBlocks: number }
  | { type: 'section-end'; section: Section; status: 'done' | 'failed' | 'interrupted' }
  | { type: 'block-start'; section: Section; block: Block; always: boolean }
  | { type: 'block-output'; block: Block; stream: 'stdout' | 'stderr'; chunk: Buffer }
  | { type: 'block-end'; block: Block; result: BlockResult; durationMs: number }
  | { type: 'block-skipped'; block: Block; reason: 'target' | 'skip' }
  /** A fence that is shown, never run (other languages, yaml without file=, skip=true). */
  | { type: 'block-shown'; block: Block }
  | { type: 'stage-applied'; block: Block; file: string; line: number; diff: string; split?: Split }
  | { type: 'background-started'; block: Block; name: string; pid: number; log: string }
  | { type: 'background-ready'; block: Block; name: string }
  | { type: 'background-output'; name: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'background-stopped'; name: string; code: number | null; signal: NodeJS.Signals | null; expected: boolean }
  | { type: 'files-restored'; files: string[]; failed: string[] }
  /** The observer: a new summary of the client's traffic; `samples` is everything seen so far. */
  | { type: 'traffic'; samples: readonly Summary[] }
  /** The observer: a check (stage or claim) starts waiting for evidence. */
  | { type: 'check-started'; what: string }
  /** The observer: a check was decided; `line` is its one-line verdict. */
  | { type: 'check-decided'; name: string; ok: boolean; line: string }
  /** The observer: a check that could not be made or was cut short, and why. */
  | { type: 'check-skipped'; line: string }
  | { type: 'run-end'; status: RunStatus; exitCode: number; failure: Failure | null; durationMs: number };

export type Listener = (event: RunEvent) => void;

export interface EventBus {
  emit(event: RunEvent): void;
  on(listener: Listener): () => void;
}

export function createBus(): EventBus {
  const listeners = new Set<Listener>();
  return {
    emit(event) {
      for (const l of listeners) l(event);
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
