// Arguments in, options out. Every mistake is one line and exit 2.

import { parseArgs } from 'node:util';
import { AttributeError, parseDuration, type Target } from './attributes.ts';
import { UsageError } from './errors.ts';

export interface CliOptions {
  file: string;
  /** Which target's blocks run; the document declares its targets (default: its default-target). */
  target?: Target;
  list: boolean;
  json: boolean;
  dryRun: boolean;
  only?: string;
  from?: string;
  yes: boolean;
  /** Seconds to wait before each section instead of prompting. */
  pause?: number;
  timeoutMs: number;
  keepChanges: boolean;
  verify: boolean;
  /** How long a stage check waits for the traffic to match (default: per target). */
  verifyTimeoutMs?: number;
  /** Write the HTML run report here. */
  report?: string;
  /** Write JUnit XML results here. */
  junit?: string;
  help: boolean;
}

/** How long a check waits when neither --verify-timeout nor the target's verify-timeout says. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 30_000;

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export const HELP = `Usage: node runner.mjs [FILE] [options]

Runs a Markdown tutorial section by section. FILE defaults to tutorial.md.
Blocks in sh, bash or shell fences run one at a time, each through zx's $ as its own bash
(set -euo pipefail) in its own process group, in the document's folder; exports and cd
carry forward to the next block. Anything a block leaves running with & is stopped when
the block ends. Other fences are shown.

Fence attributes, in braces after the language:  \`\`\`sh {target=local timeout=2m}
  target=NAME            run only on that target (no target: every target)
  background=true        keep running; log in .tutorial/<name>.log; stopped at the end
  name=NAME              the background block's name (and log file)
  ready="REGEX"          background: wait until an output line matches
  timeout=DURATION       kill the block after it (background: wait this long for ready)
  skip=true              show, never run
  always=true            also run at the end of a failed or interrupted run
  allow-errors=true      the traffic checks may see errors during this block's section
  file=PATH              yaml fence: merge it into PATH (a stage edit)

Traffic claims, on a line of their own in a section, checked when it ends:
  <!-- runner:expect pinned client=direct -->    every call of the client went to one pod
  <!-- runner:expect spread versions=v1 -->      every v1 pod got calls, none starved, no other version
  <!-- runner:expect shares v1=95 v2=5 -->       the share of calls per version
  <!-- runner:expect errors none -->             no failed call (or: errors from=v2 rate=2.5%)
  keys for all: client=meshed|direct  calls=N  windows=N

Options:
  --target NAME          which blocks run: a target the document's front matter declares
                         (default: its default-target; see Targets below)
  --list                 print sections and the blocks that would run
  --dry-run              print every block that would run and the diff of each stage edit
  --json                 with --list or --dry-run: print JSON
  --only ID              run one section (number or id) with its subsections, after
                         the sections it needs (see Sections below); the demo stays up
  --from ID              run from that section (number or id) to the end
  -y, --yes              never pause (also when stdin is not a TTY or CI is set)
  --pause N              wait N seconds before each section instead of prompting
  --timeout DURATION     default block timeout, e.g. 90s, 10m (default 10m)
  --keep-changes         leave files as the stage edits made them
  --no-verify            skip the traffic checks after sections that change a split
  --verify-timeout D     how long a check waits for the traffic to match
                         (default: the target's verify-timeout, else 30s)
  --report FILE          write an HTML report of the run (traffic over time, verdicts)
  --junit FILE           write JUnit XML: a testcase per block and per check (also when
                         the run fails or is interrupted)
  -h, --help             this text

Targets, and the traffic the checks follow, are declared in YAML front matter:
  ---
  targets:
    local:                                  # the first one is the default
      verify-timeout: 30s
      traffic: {follow: COMMAND, retry: 1s} # prints the meshed client's summary lines
      direct: blocks                        # client=direct: lines the blocks print
    kind:
      direct: {follow: COMMAND}             # ...or a command that prints them
  default-target: local
  manifests: deploy                         # Services that map backends to versions
  ---
COMMAND runs in bash in the document's folder and is started again when it ends. Without
front matter a document has one target, default, and nothing checks traffic. An unknown
key or a bad value is a document error (exit 2).

Sections: the document's headings, each with a number and an id (its GitHub anchor).
A section says which earlier sections it needs on a line of its own under its heading:
  <!-- runner:needs two-server-versions the-meshed-client -->
Needing a section means needing it with its subsections. --only ID first runs, in document
order and without prompting or checking them, every section ID needs (directly or through
those it needs) that has blocks for the target, then ID with its prompt and checks. What
they start stays up afterwards, and the runner names the section that stops it (the first
later one with an always block). An unknown id, a cycle or a need of a later section is a
document error (exit 2). --list and --dry-run show each section's needs.

At a prompt: Enter runs the section, s skips it (always blocks included), q quits.
Ctrl-C stops the current block and every background block, runs the always blocks,
puts edited files back and exits 130 (press it again to cut the always blocks short).

Exit codes:
  0    done
  1    a block (or a check) failed
  2    usage or document error
  130  interrupted (Ctrl-C, or q at a prompt)
`;

export function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        list: { type: 'boolean' },
        json: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        only: { type: 'string' },
        from: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        pause: { type: 'string' },
        timeout: { type: 'string' },
        'keep-changes': { type: 'boolean' },
        'no-verify': { type: 'boolean' },
        'verify-timeout': { type: 'string' },
        report: { type: 'string' },
        junit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split(/\.\s|\n/, 1)[0]} (see --help)`);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 1) {
    throw new UsageError(`one document at a time, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  }
  if (v.list && v['dry-run']) throw new UsageError('use --list or --dry-run, not both');
  if (v.json && !v.list && !v['dry-run']) throw new UsageError('--json goes with --list or --dry-run');
  if (v.only !== undefined && v.from !== undefined) throw new UsageError('use --only or --from, not both');
  let pause: number | undefined;
  if (v.pause !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(v.pause)) throw new UsageError(`--pause takes seconds, got ${JSON.stringify(v.pause)}`);
    pause = Number(v.pause);
  }
  const duration = (value: string, flag: string) => {
    try {
      return parseDuration(value, flag);
    } catch (e) {
      if (e instanceof AttributeError) throw new UsageError(e.message);
      throw e;
    }
  };
  const timeoutMs = v.timeout !== undefined ? duration(v.timeout, '--timeout') : DEFAULT_TIMEOUT_MS;
  if (v.report !== undefined && v.report === '') throw new UsageError('--report needs a file name');
  if (v.junit !== undefined && v.junit === '') throw new UsageError('--junit needs a file name');
  const options: CliOptions = {
    file: parsed.positionals[0] ?? 'tutorial.md',
    list: v.list ?? false,
    json: v.json ?? false,
    dryRun: v['dry-run'] ?? false,
    yes: v.yes ?? false,
    timeoutMs,
    keepChanges: v['keep-changes'] ?? false,
    verify: !(v['no-verify'] ?? false),
    help: v.help ?? false,
  };
  if (v.target !== undefined) options.target = v.target;
  if (v.only !== undefined) options.only = v.only;
  if (v.from !== undefined) options.from = v.from;
  if (pause !== undefined) options.pause = pause;
  if (v['verify-timeout'] !== undefined) options.verifyTimeoutMs = duration(v['verify-timeout'], '--verify-timeout');
  if (v.report !== undefined) options.report = v.report;
  if (v.junit !== undefined) options.junit = v.junit;
  return options;
}
