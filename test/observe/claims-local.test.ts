// The claims' negative cases on the local target, with the real local mesh: a document whose
// claim is false fails the run with exit 1 and a line naming expected and observed.
//  - spread: a split that already sends half of the calls to v2 before the meshed client
//  - pinned: a "direct" client that in fact goes through the proxy (which balances per call)
// and broken copies of the tutorial's two lessons past the source:
//  - the canary's errors come from v1 instead (the fault on the wrong Deployment)
//  - the canary does not fail at all (no fault): 0 % is outside 2.5 % once the calls are enough
//  - the header calls reach v1 (the route without its header rule)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fence, projectFrontMatter, ROOT, startRunner, tempDir, testEnv, trafficSplit } from '../runner/helpers.ts';

const LM = `node ${path.join(ROOT, 'scripts', 'local-mesh.mjs')}`;
/** The client at 200 calls/s, so that claims needing many calls have them within the timeout. */
const FAST = { LOCAL_MESH_CLIENT_ENV: 'RATE=200' };

async function runLocal(body: string[], extra: Record<string, string> = {}) {
  const t = tempDir();
  try {
    t.write('split.yaml', trafficSplit({ v1: 100 }));
    t.write('half.yaml', trafficSplit({ v1: 50, v2: 50 }));
    t.write('canary.yaml', trafficSplit({ v1: 95, v2: 5 }));
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

test('canary, broken: the failures come from v1, so errors from=v2 fails at the first of them', { timeout: 130_000 }, async () => {
  const r = await runLocal([
    '# When the canary is bad\n',
    fence('sh', [`${LM} apply -f canary.yaml`, `${LM} set env deploy/server-v1 FAULT_ERROR_RATE=0.026`, 'sleep 2'].join('\n')),
    '<!-- runner:expect errors from=v2 rate=2.5% -->\n',
  ], FAST);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ errors: FAILED, expected failed calls only from v2 at 2\.5%, observed \d+ failed of \d+ calls \([\d.]+%\): UNAVAILABLE=\d+, by version v1=\d+: \d+ from v1/);
  assert.match(r.junit, /<failure message="errors: FAILED/);
});

test('canary, broken: v2 does not fail at all, so 0 % is outside 2.5 % once the calls are enough', { timeout: 130_000 }, async () => {
  const r = await runLocal(['# When the canary is bad\n', fence('sh', `${LM} apply -f canary.yaml`), '<!-- runner:expect errors from=v2 rate=2.5% -->\n'], FAST);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ errors: FAILED, expected failed calls only from v2 at 2\.5%, observed 0 failed of \d+ calls \(0\.0%\): did not hold within 10 s: 0\.0% is outside 2\.5% ± [\d.]+% for n=\d+/);
});

test('header route, broken: without the header rule the header calls reach v1, and shares group=header fails', { timeout: 130_000 }, async () => {
  // server-route.yaml as committed: one rule, 100/0, nothing for the header.
  const r = await runLocal([
    '# Route by header\n',
    fence('sh', [`${LM} apply -f ${path.join(ROOT, 'deploy', 'gamma', 'server-route.yaml')}`, `${LM} set env deploy/client HEADER_SHARE=0.2`].join('\n')),
    '<!-- runner:expect shares group=header v1=0 v2=100 -->\n',
  ], FAST);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ shares group=header 0\/100: FAILED, expected 0\/100, observed 100\/0 \(n=\d+\), errors 0: did not converge within 10 s: v1 got \d+ calls, expected none/);
  assert.match(r.junit, /<failure message="shares group=header 0\/100: FAILED/);
});
