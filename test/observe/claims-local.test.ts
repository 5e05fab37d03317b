// The claims' negative cases on the local target, with the real local mesh: a document whose
// claim is false fails the run with exit 1 and a line naming expected and observed.
//  - spread: a split that already sends half of the calls to v2 before the meshed client
//  - pinned: a "direct" client that in fact goes through the proxy (which balances per call)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fence, projectFrontMatter, ROOT, startRunner, tempDir, testEnv, trafficSplit } from '../runner/helpers.ts';

const LM = `node ${path.join(ROOT, 'scripts', 'local-mesh.mjs')}`;

async function runLocal(body: string[], extra: Record<string, string> = {}) {
  const t = tempDir();
  try {
    t.write('split.yaml', trafficSplit({ v1: 100 }));
    t.write('half.yaml', trafficSplit({ v1: 50, v2: 50 }));
    t.write('doc.md', [projectFrontMatter() + '# Up\n', fence('sh', `${LM} up | tee up.txt`), ...body, '# Cleanup\n', fence('sh {always=true}', `${LM} down`)].join('\n'));
    const env = testEnv({ LOCAL_MESH_DIR: path.join(t.dir, 'state'), ...extra });
    const r = startRunner(['doc.md', '--yes', '--verify-timeout', '10s', '--junit', 'results.xml'], { cwd: t.dir, env, timeoutMs: 110_000 });
    try {
      const out = await r.done;
      return { ...out, junit: t.read('results.xml') };
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
  }
}

test('local: spread fails when the split already sends half the calls to v2', { timeout: 130_000 }, async () => {
  const r = await runLocal(['# Meshed\n', fence('sh', `${LM} apply -f half.yaml`), '<!-- runner:expect spread versions=v1 -->\n']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ spread: FAILED, expected every pod of v1 gets calls, none starved, no v2, observed server-v1 [0-3] of 3 pods( \([\d/]+ %\))?, v2 \d+ calls \(n=\d+\): did not hold within 10 s: v2 got \d+ calls, expected none/);
  assert.match(r.stdout, /stopped 8 processes/, 'the always block still stopped everything');
  assert.match(r.junit, /<failure message="spread: FAILED/);
});

test('local: pinned fails for a "direct" client that goes through the proxy', { timeout: 130_000 }, async () => {
  // The meshed client's own address: the proxy that `up` printed.
  const direct = [
    `addr="$(grep -o 'proxy 127.0.0.1:[0-9]*' up.txt | cut -d' ' -f2)"`,
    `cd ${ROOT} && SERVER_ADDR="$addr" AUTHORITY=server:50051 INTERVAL_MS=1000 timeout --preserve-status -s TERM 6 node --import tsx apps/client/main.ts`,
  ].join('\n');
  const r = await runLocal(['# Direct\n', '<!-- runner:expect pinned client=direct -->\n', fence('sh', direct)]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ pinned: FAILED, expected every call of the direct client on one pod, observed [2-6] of 6 pods \(server-v[12]-\w+=\d+, server-v[12]-\w+=\d+.*\) \(n=\d+\)/);
});
