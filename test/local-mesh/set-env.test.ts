// `local-mesh set env`: a Deployment's environment changed (and unset with NAME-) by a rolling
// replacement of its replicas, against real processes under traffic through the proxy. With
// FAULT_ERROR_RATE on v2, the client's summaries show failures from v2 replicas only, at about
// the rate set, and none on v1; unset, the failures stop. Then the client is set to send its
// header on a share of calls and the header route applied: those calls go to v2 only. State lives in a temp folder, the
// manifests are a copy of deploy/linkerd/ with fewer replicas, made by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { errorCount, parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { parseEnvChanges } from '../../scripts/local-mesh/rollout.ts';
import { isAlive } from '../runner/helpers.ts';
import { localMesh } from './cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** deploy/linkerd/ with one v1 and two v2 replicas (fewer processes on a shared machine). */
function smallDeploy(dir: string): string {
  const out = join(dir, 'deploy');
  mkdirSync(out);
  const src = join(ROOT, 'deploy', 'linkerd');
  for (const f of readdirSync(src).filter((x) => x.endsWith('.yaml'))) {
    const parsed = parseAllDocuments(readFileSync(join(src, f), 'utf8'));
    const docs = Array.isArray(parsed) ? parsed : [];
    for (const d of docs) {
      const name = d.getIn(['metadata', 'name']);
      if (d.get('kind') === 'Deployment' && name === 'server-v1') d.setIn(['spec', 'replicas'], 1);
      if (d.get('kind') === 'Deployment' && name === 'server-v2') d.setIn(['spec', 'replicas'], 2);
    }
    writeFileSync(join(out, f), docs.map((d) => d.toString()).join('---\n'));
  }
  return out;
}

test('set env parses NAME=VALUE and NAME-, and refuses anything else in one line', () => {
  assert.deepEqual(parseEnvChanges(['FAULT_ERROR_RATE=0.5', 'A=', 'B=x=y', 'FAULT_LATENCY_MS-']), [
    { name: 'FAULT_ERROR_RATE', value: '0.5' },
    { name: 'A', value: '' },
    { name: 'B', value: 'x=y' },
    { name: 'FAULT_LATENCY_MS', unset: true },
  ]);
  assert.throws(() => parseEnvChanges([]), /set env needs NAME=VALUE or NAME-/);
  assert.throws(() => parseEnvChanges(['1X=2']), /set env: "1X=2" is not NAME=VALUE or NAME-/);
  assert.throws(() => parseEnvChanges(['PORT=80']), /PORT is chosen by local-mesh/);
});

test('set env rolls v2 onto FAULT_ERROR_RATE under traffic: v2 fails its share, v1 nothing; NAME- heals it', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'local-mesh-set-env-'));
  const env = { ...process.env, LOCAL_MESH_DIR: join(dir, 'state'), LOCAL_MESH_DEPLOY: smallDeploy(dir), LOCAL_MESH_CLIENT_ENV: 'RATE=200 INTERVAL_MS=500' };
  const lm = (...args: string[]) => localMesh(env, args, 90_000);
  const status = async () => JSON.parse((await lm('status', '--json')).out) as { processes: Array<{ name: string; pid: number; port: number | null; alive: boolean }> };
  const summaries = async (): Promise<Summary[]> => (await lm('logs', '--json', 'client')).out.split('\n').map(parseSummaryLine).filter((s): s is Summary => !!s);
  /** Summary windows that began at or after `from` (ms since the epoch). */
  const windowsSince = (ss: Summary[], from: number) => ss.filter((s) => Date.parse(s.ts) - s.intervalMs >= from);
  const sum = (ss: Summary[], pick: (s: Summary) => Record<string, number> | undefined) => {
    const acc: Record<string, number> = {};
    for (const s of ss) for (const [k, v] of Object.entries(pick(s) ?? {})) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  };
  let pids: number[] = [];
  let follower: ChildProcess | undefined;
  try {
    const up = await lm('up');
    assert.equal(up.code, 0, up.err);
    const split = join(dir, 'split.yaml');
    writeFileSync(split, 'apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: server-split\nspec:\n  service: server\n  backends:\n    - service: server-v1\n      weight: 1\n    - service: server-v2\n      weight: 1\n');
    assert.equal((await lm('apply', '-f', split)).code, 0);
    const before = await status();
    pids = before.processes.map((p) => p.pid);
    const oldV2 = before.processes.filter((p) => p.name.startsWith('server-v2-'));
    assert.equal(oldV2.length, 2);

    // rollout restart shares the replacement with set env: v1's one replica is replaced too.
    const oldV1 = before.processes.filter((p) => p.name.startsWith('server-v1-'));
    const restarted = await lm('rollout', 'restart', 'deploy/server-v1');
    assert.equal(restarted.code, 0, restarted.err);
    assert.match(restarted.out, new RegExp(`^${oldV1[0]!.name} .*replaced by server-v1-\\w+ .*\ndeployment\\.apps/server-v1 restarted\n$`));

    const rollStart = Date.now();
    const set = await lm('set', 'env', 'deploy/server-v2', 'FAULT_ERROR_RATE=0.5');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /replaced by server-v2-\w+ .*\n.*replaced by server-v2-\w+ .*\ndeployment\.apps\/server-v2 env updated\n$/);
    const after = await status();
    pids.push(...after.processes.map((p) => p.pid));
    const newV2 = after.processes.filter((p) => p.name.startsWith('server-v2-'));
    assert.equal(newV2.length, 2);
    assert.ok(newV2.every((p) => p.alive && !oldV2.some((o) => o.pid === p.pid)), 'both v2 replicas are new');
    assert.deepEqual(oldV2.filter((p) => isAlive(p.pid)), [], 'the old v2 replicas are gone');
    // The endpoint table's one home (the proxy's config file) follows the rollout: the new replicas only.
    const listed = (await lm('endpoints', 'server-v2')).out.trim().replace(/^ipv4:/, '').split(',').sort();
    assert.deepEqual(listed, newV2.map((p) => `127.0.0.1:${p.port}`).sort());
    for (const p of newV2) assert.match(readFileSync(join(env.LOCAL_MESH_DIR, `${p.name}.log`), 'utf8'), /faults: 50% UNAVAILABLE/);
    assert.equal((await lm('set', 'env', 'server-v2', 'FAULT_ERROR_RATE=0.5')).out, 'deployment.apps/server-v2 env unchanged\n');

    // Windows that began after the rollout: failures from the new v2 pods only, about half of v2's calls.
    const rolled = Date.now();
    let faulty: Summary[] = [];
    while (faulty.reduce((n, s) => n + s.total, 0) < 1000) {
      await new Promise((r) => setTimeout(r, 500));
      faulty = windowsSince(await summaries(), rolled);
    }
    const errsByVersion = sum(faulty, (s) => s.errorsByVersion);
    const errsByPod = sum(faulty, (s) => s.errorsByPod);
    const okV2 = sum(faulty, (s) => s.byVersion).v2 ?? 0;
    const failedV2 = errsByVersion.v2 ?? 0;
    t.diagnostic(`after the rollout: ${JSON.stringify(sum(faulty, (s) => s.byVersion))} ok, failed ${JSON.stringify(errsByVersion)} by ${JSON.stringify(errsByPod)}`);
    assert.deepEqual(Object.keys(errsByVersion), ['v2'], 'failures come from v2 only');
    // From new v2 replicas only. Not necessarily both: the second replica joins the proxy's
    // balancer at the default 30 ms estimate (peak-EWMA, as linkerd2-proxy), against the first's
    // ~1 ms, and P2C over two endpoints can leave it idle for the whole window.
    const failedPods = Object.keys(errsByPod);
    assert.ok(failedPods.length > 0 && failedPods.every((pod) => newV2.some((p) => p.name === pod)), `from the new v2 replicas: ${failedPods.join(', ')}`);
    // Binomial: n v2 calls at p = 0.5 fail n/2 +- 4 sd (sd = sqrt(n)/2).
    const n = okV2 + failedV2;
    assert.ok(Math.abs(failedV2 - n / 2) <= 2 * Math.sqrt(n), `${failedV2} of ${n} v2 calls failed`);
    assert.deepEqual(sum(faulty, (s) => s.errors), { UNAVAILABLE: failedV2 });
    // During the rollout too, nothing failed on v1 and nothing without a name (no call lost).
    const during = windowsSince(await summaries(), rollStart - 1000);
    assert.deepEqual(Object.keys(sum(during, (s) => s.errorsByVersion)).filter((v) => v !== 'v2'), []);

    const heal = await lm('set', 'env', 'deploy/server-v2', 'FAULT_ERROR_RATE-');
    assert.equal(heal.code, 0, heal.err);
    assert.match(heal.out, /deployment\.apps\/server-v2 env updated\n$/);
    pids.push(...(await status()).processes.map((p) => p.pid));
    const healed = Date.now();
    let clean: Summary[] = [];
    while (clean.reduce((n, s) => n + s.total, 0) < 400) {
      await new Promise((r) => setTimeout(r, 500));
      clean = windowsSince(await summaries(), healed);
    }
    assert.equal(clean.reduce((n, s) => n + errorCount(s), 0), 0, 'no failures once the fault is unset');
    assert.ok((sum(clean, (s) => s.byVersion).v2 ?? 0) > 0);

    // A value the server refuses: the first new replica exits 2, the old ones keep serving, the env stays.
    const refused = await lm('set', 'env', 'deploy/server-v2', 'FAULT_ERROR_RATE=2');
    assert.equal(refused.code, 1);
    // The replica's own line (the log tail processes.ts adds) says why.
    assert.match(refused.err, /^local-mesh: rollout of server-v2 stopped at server-v2-\w+: .*FAULT_ERROR_RATE must be a number from 0 to 1, got "2"; the environment of server-v2 is unchanged\n$/s);
    assert.equal((await lm('set', 'env', 'deploy/server-v2', 'FAULT_ERROR_RATE-')).out, 'deployment.apps/server-v2 env unchanged\n');
    assert.equal((await lm('set', 'env', 'deploy/server-v9', 'A=1')).code, 1);

    // A follower started before the client is replaced must go on with the new one, reading its
    // new log from the start (not the old file's offset), and not end with the old process.
    follower = spawn(process.execPath, [join(ROOT, 'scripts', 'local-mesh.mjs'), 'logs', '-f', '--json', 'client'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let followed = '';
    follower.stdout!.on('data', (d) => (followed += d));
    const followerExit = new Promise<number | null>((r) => follower!.on('exit', (c) => r(c)));
    // Following before the replacement means having read the old log: a follower still starting
    // when the restart moves that log to client.previous.log opens the new one instead.
    for (const until = Date.now() + 20_000; !followed.split('\n').some((l) => parseSummaryLine(l)); ) {
      assert.ok(Date.now() < until, 'logs -f printed the old client\'s summaries within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The client sends the header on a fifth of its calls from now on (it is started again)...
    const tagging = await lm('set', 'env', 'deploy/client', 'HEADER_SHARE=0.2');
    assert.equal(tagging.code, 0, tagging.err);
    assert.match(tagging.out, /^client restarted: pid \d+\ndeployment\.apps\/client env updated\n$/);
    pids.push(...(await status()).processes.map((p) => p.pid));
    const wiring = await lm('set', 'env', 'deploy/client', 'SERVER_ADDR=server:50051');
    assert.equal(wiring.code, 2);
    assert.match(wiring.err, /the client's SERVER_ADDR is set by local-mesh/);
    // ... and the tutorial's header route through local-mesh apply sends those calls to v2 only,
    // the rest by the default rule's 95/5.
    const header = await lm('apply', '-f', join(ROOT, 'deploy', 'gamma', 'server-route-header.yaml'));
    assert.equal(header.code, 0, header.err);
    assert.equal(header.out, 'GRPCRoute/server-route configured: server -> [header x-canary=true] server-v2 1 | [*] server-v1 95, server-v2 5\n');
    const routed = Date.now();
    let grouped: Summary[] = [];
    while (grouped.reduce((n, s) => n + s.total, 0) < 600) {
      await new Promise((r) => setTimeout(r, 500));
      grouped = windowsSince(await summaries(), routed);
    }
    const headerCalls = sum(grouped, (s) => s.groups?.header.byVersion);
    const plainCalls = sum(grouped, (s) => s.groups?.plain.byVersion);
    t.diagnostic(`header route: header calls ${JSON.stringify(headerCalls)}, the rest ${JSON.stringify(plainCalls)}`);
    assert.deepEqual(Object.keys(headerCalls), ['v2']);
    assert.ok((plainCalls.v1 ?? 0) > 10 * (plainCalls.v2 ?? 0), 'the rest mostly v1 (95/5)');
    const followedLines = followed.split('\n').map(parseSummaryLine).filter((s): s is Summary => !!s);
    assert.equal(follower.exitCode, null, 'logs -f is still following after the client was replaced');
    assert.ok(followedLines.some((s) => s.final), 'it printed the old client\'s last summary');
    const fromNew = followedLines.filter((s) => s.groups && Date.parse(s.ts) - s.intervalMs >= routed);
    assert.ok(fromNew.length >= 3, `it followed the new client's log: ${fromNew.length} summaries with groups since the route`);
    assert.ok(fromNew.reduce((n, s) => n + s.total, 0) >= 400, 'the new log read from its start');
    follower.kill('SIGTERM');
    assert.equal(await followerExit, 0);
    assert.match((await lm('status')).out, /splits: server -> \[header x-canary=true\] server-v2 1 \| \[\*\] server-v1 95, server-v2 5/);
  } finally {
    if (follower?.exitCode === null) follower.kill('SIGKILL');
    await lm('down');
    assert.deepEqual([...new Set(pids)].filter((pid) => isAlive(pid)), [], 'every process is gone');
    rmSync(dir, { recursive: true, force: true });
  }
});
