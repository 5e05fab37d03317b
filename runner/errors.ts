// Errors that end a run with a documented exit code. Anything else is a bug and exits 1.

// The runner's errors are lib's family (local-mesh and the proxy share it), plus the ones only
// a run has: a document problem at a place, and a check that decided against the run.
import { EXIT, UsageError } from '../lib/errors.ts';

export { EXIT, UsageError };

/** A document problem at a known place: message reads `FILE:LINE: what`. */
export class DocumentError extends UsageError {
  override name = 'DocumentError';
  constructor(
    readonly file: string,
    readonly line: number,
    /** The message without its FILE:LINE. */
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/**
 * A check after a section decided against the run (a stage's traffic, a claim): the run
 * fails with its message and exit code. Any other error a check throws is a bug in it.
 */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
  readonly exitCode: number = EXIT.failed;
}
