import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, numberVar } from '../../lib/config.ts';
import { readServerConfig } from '../../apps/server/config.ts';
import { readClientConfig } from '../../apps/client/config.ts';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
    return err.message;
  }
  assert.fail('no error');
}

test('server defaults', () => {
  assert.deepEqual(readServerConfig({}), {
    version: 'v1',
    pod: hostname(),
    host: '0.0.0.0',
    port: 50051,
    latencyMs: 0,
    errorRate: 0,
    errorCode: 'UNAVAILABLE',
    graceMs: 10000,
  });
});

test('server reads every variable; empty means unset', () => {
  const c = readServerConfig({
    VERSION: 'v2', POD_NAME: 'server-v2-abc', PORT: '0', HOST: '127.0.0.1', MAX_CONNECTION_AGE_MS: '30000',
    FAULT_LATENCY_MS: '25', FAULT_ERROR_RATE: '0.25', FAULT_ERROR_CODE: 'RESOURCE_EXHAUSTED', GRACE_MS: '500',
  });
  assert.deepEqual(c, {
    version: 'v2', pod: 'server-v2-abc', port: 0, host: '127.0.0.1', maxConnectionAgeMs: 30000,
    latencyMs: 25, errorRate: 0.25, errorCode: 'RESOURCE_EXHAUSTED', graceMs: 500,
  });
  assert.equal(readServerConfig({ PORT: '' }).port, 50051);
});

test('client defaults and every variable', () => {
  assert.deepEqual(readClientConfig({}), {
    serverAddr: 'server:50051', rate: 20, concurrency: 100, deadlineMs: 2000, intervalMs: 2000, logFormat: 'text',
  });
  assert.deepEqual(
    readClientConfig({
      SERVER_ADDR: '127.0.0.1:4140', AUTHORITY: 'server:50051', RATE: '2000', CONCURRENCY: '32', DEADLINE_MS: '500',
      INTERVAL_MS: '250', LOG_FORMAT: 'json',
    }),
    { serverAddr: '127.0.0.1:4140', authority: 'server:50051', rate: 2000, concurrency: 32, deadlineMs: 500, intervalMs: 250, logFormat: 'json' },
  );
  assert.equal(readClientConfig({ RATE: '0.5' }).rate, 0.5);
});

test('client: HEADER_SHARE sends HEADER (default x-canary:true) on that share of calls; 0 sends none', () => {
  assert.deepEqual(readClientConfig({ HEADER_SHARE: '0.25' }).header, { name: 'x-canary', value: 'true', share: 0.25 });
  assert.deepEqual(readClientConfig({ HEADER_SHARE: '1', HEADER: 'X-Tester: yes' }).header, { name: 'x-tester', value: 'yes', share: 1 });
  assert.equal(readClientConfig({ HEADER_SHARE: '0', HEADER: 'x-a:b' }).header, undefined);
  // A bad HEADER is refused even when no share sends it, so a typo shows at once.
  assert.match(errorOf(() => readClientConfig({ HEADER: 'grpc-timeout:1S' })), /^HEADER must be NAME:VALUE .*got "grpc-timeout:1S"/);
  assert.match(errorOf(() => readClientConfig({ HEADER_SHARE: '0.5', HEADER: 'x-a-bin:AAA' })), /^HEADER must be NAME:VALUE/);
  assert.match(errorOf(() => readClientConfig({ HEADER: 'x-canary' })), /^HEADER must be NAME:VALUE/);
  assert.match(errorOf(() => readClientConfig({ HEADER_SHARE: '1.5' })), /^HEADER_SHARE must be a number from 0 to 1, got "1.5"/);
});

test('bad values name the variable and the value', () => {
  const cases: [() => unknown, string][] = [
    [() => readClientConfig({ RATE: 'abc' }), 'RATE must be a number > 0, got "abc"'],
    [() => readClientConfig({ RATE: '0' }), 'RATE must be a number > 0, got "0"'],
    [() => readClientConfig({ RATE: '0x10' }), 'RATE must be a number > 0, got "0x10"'],
    [() => readClientConfig({ LOG_FORMAT: 'xml' }), 'LOG_FORMAT must be one of text, json, got "xml"'],
    [() => readClientConfig({ CONCURRENCY: '2.5' }), 'CONCURRENCY must be a whole number >= 1, got "2.5"'],
    [() => readClientConfig({ DEADLINE_MS: '-5' }), 'DEADLINE_MS must be a whole number > 0, got "-5"'],
    [() => readClientConfig({ SERVER_ADDR: 'a b' }), 'SERVER_ADDR must be a gRPC target such as server:50051 or dns:///server:50051, got "a b"'],
    [() => readServerConfig({ PORT: '70000' }), 'PORT must be a whole number from 0 to 65535, got "70000"'],
    [() => readServerConfig({ PORT: '-1' }), 'PORT must be a whole number from 0 to 65535, got "-1"'],
    [() => readServerConfig({ FAULT_ERROR_RATE: '1.5' }), 'FAULT_ERROR_RATE must be a number from 0 to 1, got "1.5"'],
    [() => readServerConfig({ FAULT_LATENCY_MS: '-10' }), 'FAULT_LATENCY_MS must be a whole number >= 0, got "-10"'],
    [() => readServerConfig({ GRACE_MS: 'soon' }), 'GRACE_MS must be a whole number >= 0, got "soon"'],
    [() => readServerConfig({ MAX_CONNECTION_AGE_MS: '0' }), 'MAX_CONNECTION_AGE_MS must be a whole number > 0, got "0"'],
    [() => readServerConfig({ VERSION: 'v 2' }), 'VERSION must be letters, digits, ".", "_", ":" or "-", got "v 2"'],
  ];
  for (const [fn, msg] of cases) assert.equal(errorOf(fn), msg);
  const code = errorOf(() => readServerConfig({ FAULT_ERROR_CODE: 'NOPE' }));
  assert.match(code, /^FAULT_ERROR_CODE must be one of .*UNAVAILABLE.*, got "NOPE"$/);
  assert.doesNotMatch(code, /\bOK\b/, 'OK is not a fault');
  // every other status name is accepted
  for (const name of Object.keys(grpc.status).filter((k) => Number.isNaN(Number(k)) && k !== 'OK')) {
    assert.equal(readServerConfig({ FAULT_ERROR_CODE: name }).errorCode, name);
  }
});

test('numberVar: optional variables stay undefined', () => {
  assert.equal(numberVar({}, 'X', { integer: true }), undefined);
  assert.equal(numberVar({ X: ' 7 ' }, 'X', { integer: true }), 7);
  assert.equal(numberVar({ X: '1e3' }, 'X', {}), 1000);
});

test('SERVER_ADDR: the target forms grpc-js resolves pass, others are refused', () => {
  const good = [
    'server:50051', 'server', 'server.link.svc.cluster.local:50051', 'localhost:1', '127.0.0.1:4140', '[::1]:50051', '[::1]',
    'dns:///server:50051', 'dns://8.8.8.8/server.example:443', 'dns:server:50051', 'ipv4:10.0.0.1:50051,10.0.0.2:50051', 'ipv4:10.0.0.1',
    'ipv6:[::1]:50051,::2', 'unix:/tmp/grpc.sock', 'unix:///tmp/grpc.sock',
  ];
  for (const t of good) assert.equal(readClientConfig({ SERVER_ADDR: t }).serverAddr, t, t);
  const bad = [
    'foo:bar:baz', 'server:0', 'server:65536', 'server:', ':50051', 'http://server:50051', 'ser ver:1', '-server:1', 'server..x:1',
    '[::1:50051', '[nope]:1', '::1:50051', 'dns:///', 'dns:///a:b:c', 'ipv4:10.0.0.1:50051,server:1', 'ipv4:999.0.0.1:1', 'ipv6:[::1]:x', 'unix:',
  ];
  for (const t of bad) assert.match(errorOf(() => readClientConfig({ SERVER_ADDR: t })), /^SERVER_ADDR must be a gRPC target/, t);
});
