// What failed in a block, read from what bash left: the line its ERR trap or its own message
// names, the command on it, how the block ended (exit code, signal, timeout; 127 as "command
// not found") and the last lines of stderr with bash's temp-file name turned into the
// document's FILE:LINE. Pure: a block, its result and its stderr in, the failure's details out.

import type { Block } from './document.ts';
import type { Failure } from './events.ts';
import type { BlockResult } from './shell.ts';

const STDERR_TAIL_LINES = 10;

export type BlockFailureDetails = Pick<Failure, 'where' | 'command' | 'code' | 'signal' | 'timedOut' | 'stderrTail' | 'message'>;

/** `file` is the document as the user named it; `timeoutMs` the block's timeout. */
export function readFailure(file: string, block: Block, r: BlockResult, stderr: string, timeoutMs: number): BlockFailureDetails {
  const lines = block.text.split('\n');
  let command: string | null = null;
  let where = `${file}:${block.line}`;
  // No ERR trap for errors that end bash outright (set -u, syntax): its message has the line.
  const scriptLine = new RegExp(`${escapeRegExp(r.script)}: line (\\d+)`, 'g');
  const fromMessage = [...stderr.matchAll(scriptLine)].map((m) => Number(m[1])).at(-1) ?? null;
  const failedLine = r.failedLine ?? (r.failedCommand === null ? fromMessage : null);
  if (failedLine !== null && failedLine <= lines.length) {
    where = `${file}:${block.line + failedLine}`;
    command = logicalLine(lines, failedLine - 1);
  } else if (r.failedCommand) {
    command = r.failedCommand;
  }
  const how = r.timedOut
    ? `timed out after ${formatMs(timeoutMs)}`
    : r.signal
      ? `was killed by ${r.signal}`
      : `exited with code ${r.code}${r.code === 127 ? notFound(stderr) : ''}`;
  // bash names the temp file it ran; say FILE:LINE of the document instead.
  const tail = stderr
    .replace(scriptLine, (_, n: string) => `${file}:${block.line + Number(n)}`)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-STDERR_TAIL_LINES);
  return { where, command, code: r.code, signal: r.signal, timedOut: r.timedOut, stderrTail: tail, message: `block ${how}` };
}

/** Exit 127 is bash's "command not found": name the command when bash did. */
function notFound(stderr: string): string {
  const m = /([^\s:]+): command not found\s*$/m.exec(stderr);
  return m ? ` (command not found: ${m[1]})` : ' (command not found)';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The source line at `i`, joined with its backslash continuations. */
function logicalLine(lines: string[], i: number): string {
  let start = i;
  while (start > 0 && lines[start - 1]!.endsWith('\\')) start--;
  let end = i;
  while (end < lines.length - 1 && lines[end]!.endsWith('\\')) end++;
  return lines.slice(start, end + 1).join('\n');
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
