// `local-mesh status` names the gRPC status of the calls per backend (OK=124, not 0=124),
// read from the proxy's own metrics text as the mesh renders it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../apps/mesh/metrics.ts';
import { statusName } from '../../lib/grpc-status.ts';
import { backendCounts, requestLines } from '../../scripts/local-mesh/status.ts';

test('status prints each backend\'s calls by gRPC status name', () => {
  const m = createMetrics();
  const a = m.series({ service: 'server', backend: 'server-v1', endpoint: '127.0.0.1:1', pod: 'server-v1-a' });
  const b = m.series({ service: 'server', backend: 'server-v1', endpoint: '127.0.0.1:2', pod: 'server-v1-b' });
  const c = m.series({ service: 'server', backend: 'server-v2', endpoint: '127.0.0.1:3', pod: 'server-v2-a' });
  for (let i = 0; i < 3; i++) m.response(a, 0, 1);
  m.response(b, 0, 1);
  m.response(b, 14, 1);
  m.response(c, 4, 1);
  m.response(c, 99, 1);
  const lines = requestLines(backendCounts(m.render([])));
  assert.deepEqual(lines, ['requests to server-v1: OK=4 UNAVAILABLE=1', 'requests to server-v2: DEADLINE_EXCEEDED=1 CODE_99=1']);
});

test('statusName: every code 0..16 has its name; others say their number', () => {
  assert.deepEqual(
    Array.from({ length: 17 }, (_, i) => statusName(i)),
    ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'],
  );
  assert.equal(statusName(17), 'CODE_17');
});
