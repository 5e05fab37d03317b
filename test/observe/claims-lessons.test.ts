// Broken copies of the tutorial's two lessons past the source, run by the real runner against
// the real local mesh: each must fail with exit 1 and a line naming expected and observed.
//  - the canary's errors come from v1 instead (the fault on the wrong Deployment)
//  - the canary does not fail at all (no fault): 0 % is outside 2.5 % once the calls are enough
//  - the header calls reach v1 (the route without its header rule)
// The client runs at 200 calls/s so that the claims have their calls within the timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fence, ROOT, startRunner, tempDir, testEnv, trafficSplit } from '../runner/helpers.ts';

const LM = `node ${path.join(ROOT, 'scripts', 'local-mesh.mjs')}`;

async function runLocal(body: string[]) {
  const t = tempDir();
  try {
    t.write('canary.yaml', trafficSplit({ v1: 95, v2: 5 }));
    t.write('doc.md', ['# Up\n', fence('sh', `${LM} up`), ...body, '# Cleanup\n', fence('sh {always=true}', `${LM} down`)].join('\n'));
    const env = testEnv({ LOCAL_MESH_DIR: path.join(t.dir, 'state'), LOCAL_MESH_CLIENT_ENV: 'RATE=200' });
    const r = startRunner(['doc.md', '--yes', '--verify-timeout', '12s', '--junit', 'results.xml'], { cwd: t.dir, env, timeoutMs: 110_000 });
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

test('canary, broken: the failures come from v1, so errors from=v2 fails at the first of them', { timeout: 130_000 }, async () => {
  const r = await runLocal([
    '# When the canary is bad\n',
    fence('sh', [`${LM} apply -f canary.yaml`, `${LM} set env deploy/server-v1 FAULT_ERROR_RATE=0.026`, 'sleep 2'].join('\n')),
    '<!-- runner:expect errors from=v2 rate=2.5% -->\n',
  ]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ errors: FAILED, expected failed calls only from v2 at 2\.5%, observed \d+ failed of \d+ calls \([\d.]+%\): UNAVAILABLE=\d+, by version v1=\d+: \d+ from v1/);
  assert.match(r.junit, /<failure message="errors: FAILED/);
});

test('canary, broken: v2 does not fail at all, so 0 % is outside 2.5 % once the calls are enough', { timeout: 130_000 }, async () => {
  const r = await runLocal(['# When the canary is bad\n', fence('sh', `${LM} apply -f canary.yaml`), '<!-- runner:expect errors from=v2 rate=2.5% -->\n']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ errors: FAILED, expected failed calls only from v2 at 2\.5%, observed 0 failed of \d+ calls \(0\.0%\): did not hold within 12 s: 0\.0% is outside 2\.5% ± [\d.]+% for n=\d+/);
});

test('header route, broken: without the header rule the header calls reach v1, and shares group=header fails', { timeout: 130_000 }, async () => {
  // server-route.yaml as committed: one rule, 100/0, nothing for the header.
  const r = await runLocal([
    '# Route by header\n',
    fence('sh', [`${LM} apply -f ${path.join(ROOT, 'deploy', 'gamma', 'server-route.yaml')}`, `${LM} set env deploy/client HEADER_SHARE=0.2`].join('\n')),
    '<!-- runner:expect shares group=header v1=0 v2=100 -->\n',
  ]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ shares group=header 0\/100: FAILED, expected 0\/100, observed 100\/0 \(n=\d+\), errors 0: did not converge within 12 s: v1 got \d+ calls, expected none/);
  assert.match(r.junit, /<failure message="shares group=header 0\/100: FAILED/);
});
