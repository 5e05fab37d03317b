// User-facing errors: one line that names the file, line or value to fix, and the exit code
// the program ends with. Anything that is not one of these is a bug and exits 1. One family
// for local-mesh, the proxy and the demo programs, with runner/errors.ts's contract
// (UsageError carries exitCode 2), so the runner can take its classes from here.

export const EXIT = {
  done: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

/** Something the user can fix, told in one line; the program exits `exitCode` (1 unless said). */
export class UserError extends Error {
  override name = 'UserError';
  readonly exitCode: number = EXIT.failed;
}

/** Bad arguments, a bad document or bad settings: one line, exit 2. */
export class UsageError extends UserError {
  override name = 'UsageError';
  override readonly exitCode: number = EXIT.usage;
}

/** The exit code a throw ends the program with: its own for a UserError, else 1 (a bug, or a plain failure). */
export function exitCodeOf(e: unknown): number {
  return e instanceof UserError ? e.exitCode : EXIT.failed;
}
