// SIGTERM to a server process under steady traffic, the way Kubernetes stops a pod: the calls it
// had accepted all finish, it exits 0, and a client with somewhere else to go sees no error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { spawnApp, startServerProcess, stopAll } from './procs.ts';

after(stopAll);

test('SIGTERM under steady traffic: accepted calls finish, exit 0, the client fails nothing', async () => {
  // 200 ms per call at 100 calls/s keeps ~20 calls in flight at any moment.
  const env = { FAULT_LATENCY_MS: '200', GRACE_MS: '5000' };
  const [a, b] = await Promise.all([
    startServerProcess({ ...env, POD_NAME: 'pod-a' }),
    startServerProcess({ ...env, POD_NAME: 'pod-b' }),
  ]);
  const client = spawnApp('client', {
    SERVER_ADDR: `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`, RATE: '100', INTERVAL_MS: '250', DEADLINE_MS: '3000', LOG_FORMAT: 'json',
  });
  const parsed = () => client.stdout.map((l) => parseSummaryLine(l)!);
  const okLines = (pod: string) => parsed().filter((s) => (s.byPod[pod] ?? 0) > 0).length;
  await client.waitFor(() => okLines('pod-a') + okLines('pod-b') >= 2, 'traffic');

  const pinned = okLines('pod-a') > 0 ? a : b;
  const other = pinned === a ? 'pod-b' : 'pod-a';
  pinned.proc.kill('SIGTERM');
  assert.deepEqual(await pinned.proc.exited, { code: 0, signal: null });
  const drained = pinned.proc.stdout.join('\n');
  const inFlight = Number(/draining (\d+) call\(s\) in flight/.exec(drained)?.[1]);
  assert.ok(inFlight > 0, `calls were in flight at SIGTERM:\n${drained}`);
  assert.match(drained, new RegExp(`stopped, ${inFlight} call\\(s\\) finished, 0 cut off`));

  // Traffic goes on at the other server.
  const before = okLines(other);
  await client.waitFor(() => okLines(other) >= before + 2, `calls answered by ${other}`);
  client.kill('SIGTERM');
  assert.deepEqual(await client.exited, { code: 0, signal: null });
  const all: Summary[] = parsed();
  assert.ok(all.every(Boolean));
  const errors = all.flatMap((s) => Object.entries(s.errors));
  assert.deepEqual(errors, [], 'no call failed');

  const survivor = pinned === a ? b : a;
  survivor.proc.kill('SIGTERM');
  assert.equal((await survivor.proc.exited).code, 0);
});
