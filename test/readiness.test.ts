import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshListening, parseClientReady, parseMeshListening, parseServerListening, serverListening } from '../lib/readiness.ts';
import { formatSummary, type Summary } from '../lib/summary.ts';

test('the server readiness line reads back, inside its start-up line and a whole log', () => {
  for (const [address, host, port] of [['127.0.0.1:50051', '127.0.0.1', 50051], ['[::1]:8080', '[::1]', 8080]] as const) {
    const log = `starting\nserver v1 pod server-v1-a ${serverListening(address)} (health, reflection; no faults)\n`;
    assert.deepEqual(parseServerListening(log), { host, port });
  }
  assert.equal(parseServerListening('server: cannot listen on 127.0.0.1:x'), undefined);
});

test('the mesh readiness line reads back; nothing else does', () => {
  const ready = { host: '127.0.0.1', port: 4143, adminPort: 4191 };
  assert.deepEqual(parseMeshListening(`split applied: server -> server-v1 1\n${meshListening(ready)}\n`), ready);
  assert.equal(parseMeshListening('listening on 127.0.0.1:4143'), undefined);
  assert.equal(parseMeshListening(serverListening('127.0.0.1:4143')), undefined);
});

test('the client is ready at its first summary line, among its other output; not before', () => {
  const first: Summary = { ts: '2024-01-01T00:00:00.000Z', intervalMs: 500, total: 3, ok: 3, errors: {}, byVersion: { v1: 3 }, byPod: { 'server-v1-a': 3 }, latencyMs: { p50: 1, p99: 2 } };
  const second = { ...first, ts: '2024-01-01T00:00:00.500Z' };
  const log = `client: sending to server:50051\n${formatSummary(first, 'json')}\n${formatSummary(second, 'json')}\n`;
  assert.deepEqual(parseClientReady(log), first);
  assert.equal(parseClientReady('client: sending to server:50051\n{"byVersion": {"v1": 1}\n'), undefined, 'half a summary is not one');
});
