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
// of medians. Next to each wall time, the CPU the command used with everything it started
// (user + system): on two shared cores wall time is mostly that CPU queued behind other work,
// so the CPU figures move far less with the load than the wall times do.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  zxEmpty: { name: 'zx doc.md, 0 blocks', command: [path.join(ROOT, 'node_modules/.bin/zx'), empty], cwd: ROOT },
  list: { name: 'node runner.mjs --list', command: [process.execPath, RUNNER, '--list'], cwd: ROOT },
  node: { name: 'node -e 0', command: [process.execPath, '-e', '0'], cwd: ROOT },
};
type Key = keyof typeof cases;

/**
 * CPU the finished children used, user + system, from /proc/self/stat (cutime + cstime, which
 * count every process a child waited for: the runner's blocks too). Null where there is no /proc.
 */
function childCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5), counted from the state field (3): clock ticks, 100 a second on Linux.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return null;
  }
}

function time(c: (typeof cases)[Key]): { ms: number; cpuMs: number | null } {
  const cpu0 = childCpuMs();
  const t0 = performance.now();
  const r = spawnSync(c.command[0]!, c.command.slice(1), {
    cwd: c.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 300_000,
  });
  const ms = performance.now() - t0;
  const cpu1 = childCpuMs();
  if (r.status !== 0) throw new Error(`${c.command.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return { ms, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

try {
  const keys = Object.keys(cases) as Key[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
  const cpuSamples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
  const loads: number[] = [];
  for (const k of keys) time(cases[k]);
  for (let i = 0; i < runs; i++) {
    loads.push(os.loadavg()[0]!);
    for (const k of keys) {
      const t = time(cases[k]);
      samples[k].push(t.ms);
      if (t.cpuMs !== null) cpuSamples[k].push(t.cpuMs);
    }
  }
  const ms = Object.fromEntries(keys.map((k) => [k, median(samples[k])])) as Record<Key, number>;
  const cpu = Object.fromEntries(keys.map((k) => [k, cpuSamples[k].length ? median(cpuSamples[k]) : NaN])) as Record<Key, number>;
  const load = median(loads);

  console.log(`${blocks} blocks of \`true\`, ${runs} interleaved run(s), medians; ${os.cpus().length} CPUs, Node ${process.version}, load ${load.toFixed(2)} (median of the rounds)`);
  console.log(`${''.padEnd(34)} ${'wall'.padStart(6)}    ${'CPU'.padStart(6)} (user + system, the command and what it started)`);
  for (const k of keys) console.log(`${cases[k].name.padEnd(34)} ${ms[k].toFixed(0).padStart(6)} ms ${cpu[k].toFixed(0).padStart(6)} ms`);
  const perBlock = (ms.runner - ms.runnerEmpty) / blocks;
  const ratioZx = ms.runner / ms.zx;
  const ratioShell = ms.runner / ms.shellLoop;
  const cpuRatioZx = cpu.runner / cpu.zx;
  const cpuPerBlock = (cpu.runner - cpu.runnerEmpty) / blocks;
  const zxCpuPerBlock = (cpu.zx - cpu.zxEmpty) / blocks;
  console.log(`runner ÷ zx markdown mode: ${ratioZx.toFixed(2)} (CPU ${cpuRatioZx.toFixed(2)}); runner ÷ shell loop: ${ratioShell.toFixed(2)}`);
  console.log(`runner per block without its fixed cost: ${perBlock.toFixed(1)} ms (${(perBlock / (ms.shellLoop / blocks)).toFixed(2)}x one bash -c true); CPU ${cpuPerBlock.toFixed(2)} ms against zx's ${zxCpuPerBlock.toFixed(2)} ms`);
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
      load,
      cpuMs: cpu,
      cpuRatioZx,
      cpuPerBlockMs: cpuPerBlock,
      zxCpuPerBlockMs: zxCpuPerBlock,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
