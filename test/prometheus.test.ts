import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetrics } from '../lib/prometheus.ts';

test('parseMetrics reads samples with and without labels, and skips comments', () => {
  const text = [
    '# HELP mesh_response_total Responses.',
    '# TYPE mesh_response_total counter',
    'mesh_response_total{backend="server-v1",grpc_status="0"} 12',
    'mesh_up 1 1700000000000',
    'mesh_latency_seconds_bucket{le="+Inf"} 3.5',
    '',
  ].join('\n');
  assert.deepEqual(parseMetrics(text), [
    { name: 'mesh_response_total', labels: { backend: 'server-v1', grpc_status: '0' }, value: 12 },
    { name: 'mesh_up', labels: {}, value: 1 },
    { name: 'mesh_latency_seconds_bucket', labels: { le: '+Inf' }, value: 3.5 },
  ]);
});
