// Directives: what the author tells the runner about a section, in HTML comments that GitHub
// does not show. One comment per line of its own:
//   <!-- runner:needs two-server-versions the-meshed-client -->
//   <!-- runner:expect pinned client=direct -->
// This module only finds them and checks the kind; each kind's arguments are read and
// validated by the feature that owns it (needs: section dependencies; expect: traffic claims),
// which reports problems with the directive's FILE:LINE.

export type DirectiveKind = 'needs' | 'expect';
export const DIRECTIVE_KINDS: readonly DirectiveKind[] = ['needs', 'expect'];

export interface Directive {
  kind: DirectiveKind;
  /** Everything after the kind, trimmed; parsed by the kind's owner. */
  args: string;
  /** 1-based line of the comment. */
  line: number;
  /** How many of the section's blocks stand above the directive (0: before the first). */
  afterBlocks: number;
}

export class DirectiveError extends Error {
  override name = 'DirectiveError';
  constructor(
    /** 0-based line offset of the bad comment inside the scanned text. */
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const COMMENT = /<!--\s*runner:([^\s>]*)([\s\S]*?)-->/g;

/**
 * Directives in one HTML token's raw text, whose first line is `line`. A `<!-- runner:... -->`
 * with an unknown kind is an error (a typo must not silently turn a check off); other
 * comments are the author's own and are left alone.
 */
export function scanDirectives(raw: string, line: number, afterBlocks: number): Directive[] {
  const found: Directive[] = [];
  for (const m of raw.matchAll(COMMENT)) {
    const offset = countNewlines(raw.slice(0, m.index));
    const kind = m[1]!;
    if (!(DIRECTIVE_KINDS as readonly string[]).includes(kind)) {
      throw new DirectiveError(
        offset,
        `unknown runner directive ${JSON.stringify(`runner:${kind}`)} (known: ${DIRECTIVE_KINDS.map((k) => `runner:${k}`).join(', ')})`,
      );
    }
    found.push({ kind: kind as DirectiveKind, args: m[2]!.replace(/\s+/g, ' ').trim(), line: line + offset, afterBlocks });
  }
  return found;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
