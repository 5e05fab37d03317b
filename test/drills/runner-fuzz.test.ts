// Seeded random documents and stage YAML never crash the runner: each gets a clean run (0)
// or a refusal (2) in one clear line, never "internal error" or a stack trace. Most cases go
// through --list and --dry-run in one process (test/drills/fuzz-runner.ts); a few documents
// whose blocks are trivial run for real, through runner.mjs. A failure prints the seed and
// case, which reproduce it: node --import tsx test/drills/fuzz-runner.ts SEED COUNT DIR.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { prng, randomDocument, TARGET } from './fuzz-docs.ts';
import { ROOT, RUNNER, tempDir, testEnv } from '../runner/helpers.ts';

const SEED = 20261125;
const CASES = 400;
const REAL_RUNS = 8;

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('seeded random documents', () => {
  it(`${CASES} documents through --list / --dry-run: exit 0 or 2, one clear line, no stack`, async (t) => {
    const tmp = tempDir();
    try {
      const r = await run(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fuzz-runner.ts'), String(SEED), String(CASES), tmp.dir], {
        // tsx resolves from the working folder.
        cwd: ROOT,
        env: testEnv(),
        timeout: 120_000,
      });
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const summary = lines.at(-1)!;
      const bad = lines.filter((l) => !l.summary);
      t.diagnostic(`seed ${SEED}: ${JSON.stringify(summary)}`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(bad, [], `cases that broke the contract:\n${bad.map((b) => JSON.stringify(b)).join('\n')}`);
      // Library warnings (Node process warnings) would be stray lines on the runner's stderr.
      assert.equal(r.stderr, '', 'nothing else on stderr');
      assert.equal(summary.cases, CASES);
      const byCode = summary.byCode as Record<string, number>;
      assert.deepEqual(Object.keys(byCode).sort(), ['0', '2'], 'the documents reach both clean plans and refusals');
      assert.ok(byCode['0']! > CASES / 5 && byCode['2']! > CASES / 5, JSON.stringify(byCode));
    } finally {
      tmp.cleanup();
    }
  });

  it(`${REAL_RUNS} documents of trivial blocks, run for real: exit 0 or 2, files restored, nothing left`, async (t) => {
    const outcomes = await Promise.all(
      Array.from({ length: REAL_RUNS }, async (_, i) => {
        const r = prng(SEED + 7919 * (i + 1));
        const tmp = tempDir();
        try {
          const doc = randomDocument(r, true);
          const split = TARGET;
          tmp.write('doc.md', doc);
          tmp.write('split.yaml', split);
          mkdirSync(path.join(tmp.dir, 'tmp'));
          const out = await run(process.execPath, [RUNNER, 'doc.md', '--yes', '--no-verify'], {
            cwd: tmp.dir,
            env: testEnv({ TMPDIR: path.join(tmp.dir, 'tmp'), LOCAL_MESH_DIR: path.join(tmp.dir, 'no-local-mesh') }),
            timeout: 60_000,
          });
          const lines = out.stderr.split('\n').filter((l) => l.trim() !== '');
          return {
            i,
            code: out.code,
            lines,
            stack: /internal error|^\s+at /m.test(out.stderr),
            restored: tmp.read('split.yaml') === split,
            // (tsx keeps its compile cache there too)
            leftovers: readdirSync(path.join(tmp.dir, 'tmp')).filter((f) => f.startsWith('tutorial-run-')),
            doc,
          };
        } finally {
          tmp.cleanup();
        }
      }),
    );
    t.diagnostic(`exit codes: ${outcomes.map((o) => o.code).join(' ')}`);
    for (const o of outcomes) {
      const what = `case ${o.i} (seed ${SEED}):\n${o.lines.join('\n')}\n--- document ---\n${o.doc}`;
      assert.ok(o.code === 0 || o.code === 2, `exit ${o.code}, ${what}`);
      assert.equal(o.stack, false, `stack trace, ${what}`);
      if (o.code === 2) assert.equal(o.lines.length, 1, `a refusal is one line, ${what}`);
      assert.ok(o.restored, `split.yaml put back, ${what}`);
      assert.deepEqual(o.leftovers, [], `temp files left, ${what}`);
    }
    assert.ok(outcomes.some((o) => o.code === 0), 'some documents ran clean');
  });
});
