// The kind track's plan as a stable text: every section, and under it every block that would
// run on kind (commands, background commands, stage edits) in order, as the runner's
// `--dry-run --json` reports them. Line numbers are left out so that editing prose does not
// change the plan; editing a command does.
//
//   node --import tsx test/tutorial/kind-plan.ts           print the plan
//   node --import tsx test/tutorial/kind-plan.ts --write   regenerate kind-plan.expected.txt

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './doc.ts';
import { printOrWrite } from './golden.ts';

export const EXPECTED = join(ROOT, 'test/tutorial/kind-plan.expected.txt');
export const REGENERATE = 'node --import tsx test/tutorial/kind-plan.ts --write';

interface PlanBlock {
  kind: 'run' | 'background' | 'stage' | 'show';
  target: string | null;
  file: string | null;
  text: string;
}

interface PlanSection {
  number: number;
  id: string;
  title: string;
  depth: number;
  /** --only: run first because the chosen section needs it. */
  broughtUp?: boolean;
  blocks: PlanBlock[];
}

/** Run the runner's dry run for a target; its JSON, or an Error with what it printed. */
export function dryRun(target: 'kind' | 'local', args: string[] = ['--json']): string {
  const r = spawnSync(process.execPath, ['runner.mjs', 'tutorial.md', '--target', target, '--dry-run', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0) {
    throw new Error(`node runner.mjs --target ${target} --dry-run ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

export function renderPlan(json: string): string {
  const sections = JSON.parse(json) as PlanSection[];
  const out: string[] = [];
  for (const s of sections) {
    out.push(`${'#'.repeat(s.depth)} ${s.number}. ${s.title}  #${s.id}${s.broughtUp ? '  (brought up)' : ''}`);
    // Shown-only fences (example output) are not part of what runs.
    for (const b of s.blocks.filter((x) => x.kind !== 'show')) {
      const head = b.kind === 'stage' ? `[stage -> ${b.file}]` : `[${b.kind}${b.target ? ` target=${b.target}` : ''}]`;
      out.push(head, ...b.text.split('\n').map((l) => (l ? `    ${l}` : '')));
    }
    out.push('');
  }
  return out.join('\n');
}

export function kindPlan(): string {
  return renderPlan(dryRun('kind'));
}

printOrWrite(import.meta.url, kindPlan, EXPECTED);
