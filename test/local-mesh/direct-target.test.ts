// The local track's direct (unmeshed) client: `local-mesh endpoints` hands it every replica's
// address in a random order, so its pick_first pins each start to one replica, but not always
// the same one (as kube-proxy picks a pod per connection). Real servers and the real client
// code on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startClient } from '../../apps/client/client.ts';
import { startServer } from '../../apps/server/server.ts';
import { directTarget } from '../../scripts/local-mesh/direct-target.ts';

test('directTarget lists every address once, in an order the random source decides', () => {
  const addrs = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'];
  assert.equal(directTarget(addrs, () => 0.999), 'ipv4:127.0.0.1:1,127.0.0.1:2,127.0.0.1:3');
  assert.equal(directTarget(addrs, () => 0), 'ipv4:127.0.0.1:2,127.0.0.1:3,127.0.0.1:1');
  for (let i = 0; i < 50; i++) assert.deepEqual(directTarget(addrs).slice('ipv4:'.length).split(',').sort(), addrs);
  assert.deepEqual(addrs, ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], 'the input is not reordered');
});

test('over ten starts the direct client lands on more than one replica, each start on one', { timeout: 60_000 }, async () => {
  const servers = await Promise.all(['a', 'b', 'c'].map((p) => startServer({ version: 'v1', pod: `server-v1-${p}`, host: '127.0.0.1', port: 0 })));
  try {
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    const landed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = startClient({ serverAddr: directTarget(addrs), rate: 200, concurrency: 10, deadlineMs: 2000, intervalMs: 10_000, onSummary: () => {} });
      assert.equal(await c.ready, true);
      await new Promise((r) => setTimeout(r, 60));
      const s = await c.stop();
      const pods = Object.keys(s.byPod);
      assert.equal(pods.length, 1, `start ${i}: pick_first still pins to one replica: ${JSON.stringify(s.byPod)}`);
      landed.push(pods[0]!);
    }
    // All ten on one of three replicas by chance: 3 * (1/3)^10, about 1 in 20,000.
    assert.ok(new Set(landed).size > 1, `every start landed on ${landed[0]}`);
  } finally {
    await Promise.all(servers.map((s) => s.shutdown(500)));
  }
});
