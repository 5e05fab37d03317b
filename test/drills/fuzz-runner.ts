// Runs the runner's --list and --dry-run in this process over many seeded random documents
// (a process per case would spend the drill's time starting tsx). Prints one JSON line per
// case that broke the contract, then one summary line. Usage: fuzz-runner.ts SEED COUNT DIR
//
// The contract (as runner.mjs applies it): main() resolves to 0 or 2, never throws (a throw is
// what runner.mjs reports as "internal error" with a stack), and a 2 comes with one line.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../runner/main.ts';
import { prng, randomArgs, randomDocument, targetYaml } from './fuzz-docs.ts';

const [seedArg, countArg, dirArg] = process.argv.slice(2);
const seed = Number(seedArg);
const count = Number(countArg);
const root = path.resolve(dirArg!);

const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);
const byCode: Record<string, number> = {};
let bad = 0;

for (let i = 0; i < count; i++) {
  const r = prng(seed * 100_003 + i);
  const dir = path.join(root, `case-${i}`);
  mkdirSync(dir, { recursive: true });
  const doc = randomDocument(r);
  writeFileSync(path.join(dir, 'doc.md'), doc);
  writeFileSync(path.join(dir, 'split.yaml'), targetYaml(r));
  const args = [path.join(dir, 'doc.md'), r() < 0.5 ? '--list' : '--dry-run', ...randomArgs(r)];
  let out = '';
  let err = '';
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  let code: number | undefined;
  let thrown: string | undefined;
  try {
    code = await main(args);
  } catch (e) {
    thrown = (e as Error)?.stack ?? String(e);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  const lines = err.split('\n').filter((l) => l.trim() !== '');
  const problem =
    thrown !== undefined
      ? 'threw (runner.mjs would print "internal error" and a stack)'
      : code !== 0 && code !== 2
        ? `exit ${code}`
        : /internal error|^\s+at /m.test(err)
          ? 'stack trace on stderr'
          : code === 2 && lines.length !== 1
            ? `${lines.length} lines on stderr for a refusal`
            : code === 2 && !/^runner: /.test(lines[0]!)
              ? 'refusal without the runner: prefix'
              : undefined;
  byCode[String(code ?? 'threw')] = (byCode[String(code ?? 'threw')] ?? 0) + 1;
  if (problem) {
    bad++;
    stdoutWrite(JSON.stringify({ case: i, seed, problem, args: args.slice(1), code, stderr: err.slice(0, 2000), thrown: thrown?.slice(0, 2000), doc: doc.slice(0, 3000) }) + '\n');
  }
  rmSync(dir, { recursive: true, force: true });
}
stdoutWrite(JSON.stringify({ summary: true, seed, cases: count, byCode, bad }) + '\n');
