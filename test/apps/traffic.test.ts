// The programs as they run in the tutorial: server and client processes on loopback, the client's
// summary lines read back through the shared contract (lib/summary.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCount, formatSummary, parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { createServer } from 'node:net';
import { startClient } from '../../apps/client/client.ts';
import { startServer } from '../../apps/server/server.ts';
import { spawnApp, startServerProcess, stopAll, type AppProcess } from './procs.ts';

after(stopAll);

/** Every stdout line must be a summary; returns them parsed. */
function summaries(p: AppProcess): Summary[] {
  return p.stdout.map((l) => {
    const s = parseSummaryLine(l);
    assert.ok(s, `not a summary line: ${l}`);
    return s;
  });
}

function add(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

function totals(ss: Summary[]) {
  const t = { total: 0, ok: 0, errors: {} as Record<string, number>, byVersion: {} as Record<string, number>, byPod: {} as Record<string, number> };
  for (const s of ss) {
    t.total += s.total;
    t.ok += s.ok;
    add(t.errors, s.errors);
    add(t.byVersion, s.byVersion);
    add(t.byPod, s.byPod);
  }
  return t;
}

test('a v1 server answers every call of the client; summary lines well-formed in text and json', async () => {
  const { proc: server, port } = await startServerProcess({ VERSION: 'v1', POD_NAME: 'server-v1-a' });
  const clients = (['text', 'json'] as const).map((fmt) => ({
    fmt,
    p: spawnApp('client', { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '100', INTERVAL_MS: '300', LOG_FORMAT: fmt }),
  }));
  await Promise.all(clients.map(({ p }) => p.waitFor((ls) => ls.length >= 3, '3 summary lines')));
  for (const { p } of clients) p.kill('SIGTERM');

  for (const { fmt, p } of clients) {
    assert.deepEqual(await p.exited, { code: 0, signal: null });
    const ss = summaries(p);
    p.stdout.forEach((line, i) => {
      assert.equal(line.startsWith('{'), fmt === 'json', `${fmt} line: ${line}`);
      assert.equal(formatSummary(ss[i]!, fmt), line, 'reads back to the same line');
    });
    assert.ok(ss.slice(0, -1).every((s) => !s.final) && ss.at(-1)!.final, 'only the last line is final');
    const t = totals(ss);
    assert.ok(t.ok >= 50, `calls answered: ${t.ok}`);
    assert.equal(t.total, t.ok);
    assert.deepEqual(t.errors, {});
    assert.deepEqual(t.byVersion, { v1: t.ok });
    assert.deepEqual(t.byPod, { 'server-v1-a': t.ok });
    for (const s of ss.filter((x) => x.total > 0)) assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p99 >= s.latencyMs.p50);
    assert.ok(p.stderr.some((l) => /^client: waiting for 127\.0\.0\.1:\d+/.test(l)), p.stderr.join('\n'));
  }
  server.kill('SIGTERM');
  assert.deepEqual(await server.exited, { code: 0, signal: null });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

test('the client waits for a server that starts late, without failing calls', async () => {
  const port = await freePort();
  const client = spawnApp('client', { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '50', INTERVAL_MS: '300' });
  // The server comes up only after the client has said it is waiting.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => client.stderr.some((l) => l.startsWith('client: waiting')) && (clearInterval(poll), resolve()), 20);
  });
  const server = await startServer({ version: 'v1', pod: 'late', host: '127.0.0.1', port });
  try {
    await client.waitFor((ls) => ls.filter((l) => parseSummaryLine(l)!.ok > 0).length >= 2, 'answered calls');
    client.kill('SIGINT');
    assert.deepEqual(await client.exited, { code: 0, signal: null });
    const t = totals(summaries(client));
    assert.deepEqual(t.errors, {});
    assert.deepEqual(t.byPod, { late: t.ok });
  } finally {
    await server.shutdown(500);
  }
});

test('two servers behind one address list: pick_first pins the client to one of them', async () => {
  const [a, b] = await Promise.all([
    startServer({ version: 'v1', pod: 'pod-a', host: '127.0.0.1', port: 0 }),
    startServer({ version: 'v2', pod: 'pod-b', host: '127.0.0.1', port: 0 }),
  ]);
  try {
    // Both are up and reachable on their own, so a pin is the policy, not an outage.
    for (const [srv, pod] of [[a, 'pod-a'], [b, 'pod-b']] as const) {
      const c = startClient({ serverAddr: `127.0.0.1:${srv.port}`, rate: 100, concurrency: 10, deadlineMs: 2000, intervalMs: 10_000, onSummary: () => {} });
      await c.ready;
      await new Promise((r) => setTimeout(r, 100));
      const s = await c.stop();
      assert.ok(s.ok > 0 && s.byPod[pod] === s.ok, JSON.stringify(s));
    }
    const client = spawnApp('client', { SERVER_ADDR: `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`, RATE: '200', INTERVAL_MS: '250', LOG_FORMAT: 'json' });
    await client.waitFor((ls) => ls.length >= 4, '4 summary lines');
    client.kill('SIGTERM');
    assert.equal((await client.exited).code, 0);
    const t = totals(summaries(client));
    assert.ok(t.ok >= 100, `calls: ${t.ok}`);
    assert.deepEqual(t.errors, {});
    assert.equal(Object.keys(t.byPod).length, 1, `pinned to one pod: ${JSON.stringify(t.byPod)}`);
    assert.equal(Object.keys(t.byVersion).length, 1, `one version only: ${JSON.stringify(t.byVersion)}`);
  } finally {
    await Promise.all([a.shutdown(500), b.shutdown(500)]);
  }
});

test('fault knobs show up in the client: errors by status name, added latency', async () => {
  const { proc: server, port } = await startServerProcess({
    POD_NAME: 'faulty', FAULT_ERROR_RATE: '0.3', FAULT_ERROR_CODE: 'RESOURCE_EXHAUSTED', FAULT_LATENCY_MS: '40',
  });
  assert.match(server.stdout[0]!, /faults: latency \+40ms, 30% RESOURCE_EXHAUSTED/);
  const client = spawnApp('client', { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '200', INTERVAL_MS: '300', LOG_FORMAT: 'text' });
  await client.waitFor((ls) => ls.length >= 3, '3 summary lines');
  client.kill('SIGTERM');
  assert.equal((await client.exited).code, 0);
  const ss = summaries(client);
  const t = totals(ss);
  assert.deepEqual(Object.keys(t.errors), ['RESOURCE_EXHAUSTED']);
  const share = t.errors.RESOURCE_EXHAUSTED! / t.total;
  assert.ok(share > 0.15 && share < 0.45, `error share ${share} of ${t.total}`);
  assert.equal(t.ok + errorCount(t), t.total);
  for (const s of ss.filter((x) => x.total > 0)) assert.ok(s.latencyMs.p50 >= 40, `p50 ${s.latencyMs.p50} includes the 40ms`);
  // The failed answers said who failed them.
  const byVersion = ss.reduce((acc, x) => add(acc, x.errorsByVersion ?? {}), {} as Record<string, number>);
  const byPod = ss.reduce((acc, x) => add(acc, x.errorsByPod ?? {}), {} as Record<string, number>);
  assert.deepEqual(byVersion, { v1: t.errors.RESOURCE_EXHAUSTED });
  assert.deepEqual(byPod, { faulty: t.errors.RESOURCE_EXHAUSTED });
  server.kill('SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test('HEADER_SHARE: the header reaches the server on that share of calls, and the summary counts the groups apart', async () => {
  // The server here is a real one whose handler fails exactly the calls that carry x-canary,
  // so the counts show that the header went out on the calls the client says it did.
  const grpc = await import('@grpc/grpc-js');
  const { loadGreeter } = await import('../../apps/proto/load.ts');
  const server = new grpc.Server();
  let seen = 0;
  server.addService(loadGreeter().service, {
    SayHello(call: any, cb: any) {
      const md = new grpc.Metadata();
      md.set('x-served-by-version', 'v7');
      md.set('x-served-by-pod', 'p7');
      if (call.metadata.get('x-canary')[0] === 'true') {
        seen += 1;
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'tagged', metadata: md });
      } else cb(null, { message: 'hi', version: 'v7', pod: 'p7' }, md);
    },
    StreamHellos(call: any) {
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    const client = spawnApp('client', { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '200', INTERVAL_MS: '300', HEADER_SHARE: '0.2', LOG_FORMAT: 'text' });
    await client.waitFor((ls) => ls.length >= 3, '3 summary lines');
    client.kill('SIGTERM');
    assert.equal((await client.exited).code, 0);
    const ss = summaries(client);
    assert.ok(ss.every((x) => x.groups), `every line has the groups: ${client.stdout.join('\n')}`);
    const header = ss.reduce((n, x) => n + x.groups!.header.total, 0);
    const plain = ss.reduce((n, x) => n + x.groups!.plain.total, 0);
    const total = ss.reduce((n, x) => n + x.total, 0);
    assert.equal(header + plain, total);
    assert.equal(header, Math.floor(total * 0.2), `header calls ${header} of ${total}`);
    assert.equal(header, seen, 'the server saw the header on exactly those calls');
    for (const x of ss) {
      assert.equal(x.groups!.header.ok, 0);
      assert.deepEqual(x.groups!.header.errorsByVersion ?? {}, x.groups!.header.total ? { v7: x.groups!.header.total } : {});
      assert.equal(x.groups!.plain.ok, x.groups!.plain.total);
    }
  } finally {
    server.forceShutdown();
  }
});
