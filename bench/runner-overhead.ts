// The runner's start-up and its cost per block. A document of N ```sh blocks that each run
// `true`, run with --yes, against the same document through zx's own markdown mode
// (`zx doc.md`, which runs each block with `$` and carries nothing between blocks) and against
// a shell loop that starts `bash -c true` N times (one process per block is the floor for
// isolated blocks); and `node runner.mjs --list` on the tutorial against `node -e 0`.
//
//   node --import tsx bench/runner-overhead.ts [--blocks 100] [--runs 9]
//
// One untimed round first (the page cache; a stale dist/ is rebuilt there), then --runs
// rounds, each running every command once in turn, so a busy moment of a shared machine
// falls on all of them alike; every figure is the median of its runs, every ratio the ratio
// of medians.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: { blocks: { type: 'string', default: '100' }, runs: { type: 'string', default: '9' } },
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
// The same run with no blocks: the runner's fixed cost.
const empty = path.join(dir, 'empty.md');
writeFileSync(empty, '# No blocks\n');

const RUNNER = path.join(ROOT, 'runner.mjs');
const cases = {
  shellLoop: { name: `shell loop: bash -c true x${blocks}`, command: ['bash', '-c', `for i in $(seq ${blocks}); do bash -c true; done`], cwd: dir },
  runner: { name: 'node runner.mjs --yes', command: [process.execPath, RUNNER, doc, '--yes'], cwd: dir },
  runnerEmpty: { name: 'node runner.mjs --yes, 0 blocks', command: [process.execPath, RUNNER, empty, '--yes'], cwd: dir },
  zx: { name: 'zx doc.md (markdown mode)', command: [path.join(ROOT, 'node_modules/.bin/zx'), doc], cwd: ROOT },
  list: { name: 'node runner.mjs --list', command: [process.execPath, RUNNER, '--list'], cwd: ROOT },
  node: { name: 'node -e 0', command: [process.execPath, '-e', '0'], cwd: ROOT },
};
type Key = keyof typeof cases;

function time(c: (typeof cases)[Key]): number {
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

try {
  const keys = Object.keys(cases) as Key[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
  for (const k of keys) time(cases[k]);
  for (let i = 0; i < runs; i++) for (const k of keys) samples[k].push(time(cases[k]));
  const ms = Object.fromEntries(keys.map((k) => [k, median(samples[k])])) as Record<Key, number>;

  console.log(`${blocks} blocks of \`true\`, ${runs} interleaved run(s), medians; ${os.cpus().length} CPUs, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`);
  for (const k of keys) console.log(`${cases[k].name.padEnd(34)} ${ms[k].toFixed(0).padStart(6)} ms`);
  const perBlock = (ms.runner - ms.runnerEmpty) / blocks;
  const ratioZx = ms.runner / ms.zx;
  const ratioShell = ms.runner / ms.shellLoop;
  console.log(`runner ÷ zx markdown mode: ${ratioZx.toFixed(2)}; runner ÷ shell loop: ${ratioShell.toFixed(2)}`);
  console.log(`runner per block without its fixed cost: ${perBlock.toFixed(1)} ms (${(perBlock / (ms.shellLoop / blocks)).toFixed(2)}x one bash -c true)`);
  // Last line, for bench/run.ts.
  console.log(
    JSON.stringify({
      bench: 'runner-overhead',
      blocks,
      runs,
      shellLoopMs: ms.shellLoop,
      runnerMs: ms.runner,
      runnerEmptyMs: ms.runnerEmpty,
      zxMs: ms.zx,
      listMs: ms.list,
      nodeMs: ms.node,
      ratio: ratioShell,
      ratioZx,
      perBlockMs: perBlock,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
