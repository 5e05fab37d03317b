// Bad configuration stops the programs at once: exit 2, one line on stderr naming the variable
// and the value, nothing on stdout.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, startServerProcess, stopAll } from './procs.ts';

after(stopAll);

const cases: ['server' | 'client', Record<string, string>, string][] = [
  ['client', { RATE: 'abc' }, 'client: RATE must be a number > 0, got "abc"'],
  ['client', { LOG_FORMAT: 'xml' }, 'client: LOG_FORMAT must be one of text, json, got "xml"'],
  ['client', { CONCURRENCY: '-3' }, 'client: CONCURRENCY must be a whole number >= 1, got "-3"'],
  // grpc-js would take it and retry for ever; the client refuses it at start-up instead.
  ['client', { SERVER_ADDR: 'foo:bar:baz' }, 'client: SERVER_ADDR must be a gRPC target such as server:50051 or dns:///server:50051, got "foo:bar:baz"'],
  ['server', { PORT: '70000' }, 'server: PORT must be a whole number from 0 to 65535, got "70000"'],
  ['server', { FAULT_ERROR_RATE: '1.5' }, 'server: FAULT_ERROR_RATE must be a number from 0 to 1, got "1.5"'],
  ['server', { FAULT_ERROR_CODE: 'BROKEN' }, 'server: FAULT_ERROR_CODE must be one of '],
];

test('bad env: exit 2 with one clear line, server and client', async () => {
  await Promise.all(
    cases.map(async ([app, env, line]) => {
      // A valid address and port, so only the bad variable can be the reason.
      const p = spawnApp(app, { SERVER_ADDR: '127.0.0.1:1', PORT: '0', HOST: '127.0.0.1', ...env });
      const exit = await p.exited;
      const what = `${app} ${JSON.stringify(env)}`;
      assert.deepEqual(exit, { code: 2, signal: null }, what);
      assert.equal(p.stderr.length, 1, `${what}: ${p.stderr.join('\n')}`);
      assert.ok(p.stderr[0]!.startsWith(line), `${what}: ${p.stderr[0]}`);
      assert.deepEqual(p.stdout, [], what);
    }),
  );
});

test('a port already in use: exit 1 with one line', async () => {
  const first = await startServerProcess({});
  const second = spawnApp('server', { HOST: '127.0.0.1', PORT: String(first.port) });
  assert.deepEqual(await second.exited, { code: 1, signal: null });
  assert.equal(second.stderr.length, 1, second.stderr.join('\n'));
  assert.match(second.stderr[0]!, new RegExp(`^server: cannot listen on 127\\.0\\.0\\.1:${first.port}: `));
  first.proc.kill('SIGTERM');
  assert.equal((await first.proc.exited).code, 0);
});
