// The runner's cost per block. A document of N ```sh blocks that each run `true`, run with
// --yes, against a shell loop that starts `bash -c true` N times (one process per block is
// the floor for isolated blocks), and the same document through zx's markdown mode.
//
//   node --import tsx bench/runner-overhead.ts [--blocks 100] [--runs 1]
//
// Each command runs once untimed first (tsx's compile cache, the page cache), then --runs
// times timed; with more than one run the median is reported.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: { blocks: { type: 'string', default: '100' }, runs: { type: 'string', default: '1' } },
});
const blocks = Number(values.blocks);
const runs = Number(values.runs);
if (!Number.isInteger(blocks) || blocks < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error('--blocks and --runs take whole numbers >= 1');
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'runner-bench-'));
const doc = path.join(dir, 'blocks.md');
writeFileSync(doc, `# ${blocks} blocks\n\n${'```sh\ntrue\n```\n\n'.repeat(blocks)}`);
// The same run with no blocks: the runner's fixed cost (Node, tsx, parsing, the launcher).
const empty = path.join(dir, 'empty.md');
writeFileSync(empty, '# No blocks\n');

interface Case {
  name: string;
  command: string[];
  cwd: string;
}

const cases: Case[] = [
  { name: `shell loop: bash -c true x${blocks}`, command: ['bash', '-c', `for i in $(seq ${blocks}); do bash -c true; done`], cwd: dir },
  { name: 'node runner.mjs --yes', command: [process.execPath, path.join(ROOT, 'runner.mjs'), doc, '--yes'], cwd: dir },
  { name: 'node runner.mjs --yes, 0 blocks', command: [process.execPath, path.join(ROOT, 'runner.mjs'), empty, '--yes'], cwd: dir },
  // zx finds a local install through npx when run from the project.
  { name: 'npx zx (markdown mode)', command: ['npx', 'zx', doc], cwd: ROOT },
  { name: 'zx binary (markdown mode)', command: [path.join(ROOT, 'node_modules/.bin/zx'), doc], cwd: ROOT },
];

function time(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(c.command[0]!, c.command.slice(1), {
    cwd: c.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 300_000,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${c.command.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const results = cases.map((c) => {
    time(c);
    const samples = Array.from({ length: runs }, () => time(c));
    return { name: c.name, ms: median(samples) };
  });
  const floor = results[0]!.ms;
  console.log(`${blocks} blocks of \`true\`, ${runs} timed run(s) each, ${os.cpus().length} CPUs, Node ${process.version}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(34)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${(r.ms / blocks).toFixed(1).padStart(6)} ms/block  ratio ${(r.ms / floor).toFixed(2)}`,
    );
  }
  const perBlock = (results[1]!.ms - results[2]!.ms) / blocks;
  console.log(
    `runner per block without its fixed cost: ${perBlock.toFixed(1)} ms (${(perBlock / (floor / blocks)).toFixed(2)}x one bash -c true)`,
  );
  // Last line, for bench/run.ts.
  console.log(
    JSON.stringify({
      bench: 'runner-overhead',
      blocks,
      shellLoopMs: floor,
      runnerMs: results[1]!.ms,
      runnerEmptyMs: results[2]!.ms,
      zxNpxMs: results[3]!.ms,
      zxMs: results[4]!.ms,
      ratio: results[1]!.ms / floor,
      perBlockMs: perBlock,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
