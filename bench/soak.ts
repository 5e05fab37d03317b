// `npm run soak`: the local demo under a long, steady load, changed all the time. The client
// at 500 calls/s through the proxy for 20 minutes; the split moved every 5 s; every minute a
// `rollout restart` of one server Deployment (server-v1, then server-v2, ...), which replaces
// its replicas one at a time. It holds if no call failed, the last split is the one in force
// (in the proxy and in the client's counts), and no process that ran throughout grew its
// resident memory by more than 10 % after the first two minutes.
//
//   npm run soak                               the full run (about 21 minutes)
//   npm run soak -- --minutes 3 --warmup 60    a quick one
//   npm run soak -- --write                    also put the figures in BENCHMARKS.md (## Soak)
//
// Everything goes through `node scripts/local-mesh.mjs`, as a reader would drive it, with its
// state in a temp folder; it is stopped with `down` whatever happens. Not part of npm test.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { expectedByVersion } from '../lib/shares.ts';
import { errorCount } from '../lib/summary.ts';
import { manifestFiles, readTopology, versionsByService } from '../lib/topology.ts';
import { stageCheck } from '../runner/observe/stage-check.ts';
import { loadState, paths } from '../scripts/local-mesh/state.ts';
import { median, splitYaml, summaries } from './local.ts';
import { rssKb } from './proc.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    rate: { type: 'string', default: '500' },
    'split-every': { type: 'string', default: '5' },
    'roll-every': { type: 'string', default: '60' },
    warmup: { type: 'string', default: '120' },
    'growth-limit': { type: 'string', default: '10' },
    write: { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof opt): number => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`soak: --${name} must be a positive number, got ${JSON.stringify(opt[name])}\n`);
    process.exit(2);
  }
  return v;
};
const DURATION_MS = num('minutes') * 60_000;
const RATE = num('rate');
const SPLIT_MS = num('split-every') * 1000;
const ROLL_MS = num('roll-every') * 1000;
const WARMUP_MS = num('warmup') * 1000;
const GROWTH_LIMIT = num('growth-limit');
const SAMPLE_MS = 5000;
if (WARMUP_MS >= DURATION_MS) {
  process.stderr.write(`soak: --warmup (${WARMUP_MS / 1000} s) must be shorter than --minutes (${DURATION_MS / 60_000})\n`);
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-'));
const env = { ...process.env, LOCAL_MESH_DIR: dir, LOCAL_MESH_CLIENT_ENV: `RATE=${RATE} CONCURRENCY=200 INTERVAL_MS=1000 LOG_FORMAT=json` };
const p = paths(env);

async function lm(...args: string[]): Promise<string> {
  const r = await run(process.execPath, [path.join(ROOT, 'scripts/local-mesh.mjs'), ...args], { cwd: ROOT, env, maxBuffer: 16 << 20 });
  return r.stdout;
}

/** The splits, in turn: the tutorial's stages and some in between; never twice the same in a row. */
const SPLITS: Array<[number, number]> = [[100, 0], [95, 5], [50, 50], [0, 100], [25, 75], [75, 25], [5, 95], [60, 40]];

interface Sample {
  t: number;
  kb: number;
}

async function main(): Promise<number> {
  const load0 = os.loadavg();
  const problems: string[] = [];
  const rss = new Map<string, Sample[]>();
  let applies = 0;
  let rollouts = 0;
  let lastSplit: [number, number] = SPLITS[0]!;
  let lastAppliedAt = 0;
  const splitFile = path.join(dir, 'split.yaml');
  const applyMs: number[] = [];
  const rolloutMs: number[] = [];
  // One apply at a time, so the last one sent is the last one in force; a slow one (each is a
  // fresh `node scripts/local-mesh.mjs`) delays the next, and applyMs shows by how much.
  const apply = async (split: [number, number]) => {
    writeFileSync(splitFile, splitYaml(...split));
    const at = Date.now();
    await lm('apply', '-f', splitFile);
    applyMs.push(Date.now() - at);
    lastSplit = split;
    lastAppliedAt = at;
    applies++;
  };

  log(`up (client at ${RATE} calls/s), state in ${dir}`);
  await lm('up');
  const t0 = Date.now();
  const end = t0 + DURATION_MS;
  await apply(SPLITS[0]!);
  const loadSamples: number[] = [];

  let rolling: Promise<void> | undefined;
  const deployments = ['server-v1', 'server-v2'];
  let nextSplit = t0 + SPLIT_MS;
  let nextRoll = t0 + ROLL_MS;
  let nextSample = t0;
  let nextLog = t0 + 60_000;
  let i = 1;
  while (Date.now() < end) {
    const now = Date.now();
    if (now >= nextSample) {
      nextSample += SAMPLE_MS;
      loadSamples.push(os.loadavg()[0]!);
      for (const x of loadState(p)?.processes ?? []) {
        const kb = rssKb(x.pid);
        if (kb !== undefined) rss.set(x.name, [...(rss.get(x.name) ?? []), { t: now - t0, kb }]);
      }
    }
    if (now >= nextRoll && !rolling) {
      nextRoll += ROLL_MS;
      const d = deployments[rollouts % deployments.length]!;
      rollouts++;
      const at = Date.now();
      rolling = lm('rollout', 'restart', d)
        .then(() => void rolloutMs.push(Date.now() - at))
        .catch((e: { stderr?: string; message: string }) => void problems.push(`rollout restart ${d}: ${(e.stderr || e.message).trim()}`))
        .finally(() => (rolling = undefined));
    }
    if (now >= nextSplit) {
      nextSplit += SPLIT_MS;
      const split = SPLITS[i++ % SPLITS.length]!;
      try {
        await apply(split);
      } catch (e) {
        problems.push(`apply ${split.join('/')}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim()}`);
      }
    }
    if (now >= nextLog) {
      nextLog += 60_000;
      const s = summaries(p);
      log(`${Math.round((now - t0) / 60_000)} min: ${s.reduce((n, x) => n + x.ok, 0)} calls answered, ${s.reduce((n, x) => n + errorCount(x), 0)} failed, ${applies} applies, ${rollouts} rollouts, load ${os.loadavg()[0]!.toFixed(2)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await rolling;
  const elapsedMs = Date.now() - t0;

  // The last split: in the proxy's config, and in the client's counts once it converged.
  const status = JSON.parse(await lm('status', '--json')) as { splits: Array<{ apex: string; backends: Array<{ service: string; weight: number }> }> };
  const inForce = status.splits.find((s) => s.apex === 'server');
  const want = [{ service: 'server-v1', weight: lastSplit[0] }, { service: 'server-v2', weight: lastSplit[1] }].filter((b) => b.weight > 0 || inForce?.backends.some((x) => x.service === b.service));
  const proxyOk = !!inForce && JSON.stringify(inForce.backends.map((b) => [b.service, b.weight]).sort()) === JSON.stringify(want.map((b) => [b.service, b.weight]).sort());
  if (!proxyOk) problems.push(`the proxy's split for server is ${JSON.stringify(inForce?.backends)}, not the last applied ${lastSplit.join('/')}`);
  const versions = versionsByService(readTopology(manifestFiles(p.deploy)));
  const check = stageCheck({ label: lastSplit.join('/'), expected: expectedByVersion({ backends: want }, versions), appliedAt: lastAppliedAt, allowErrors: false }, 3, 100);
  let verdict;
  const deadline = Date.now() + 30_000;
  let seen = 0;
  while (!verdict && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const all = summaries(p);
    for (const s of all.slice(seen)) verdict ??= check.feed(s);
    seen = all.length;
  }
  if (!verdict?.ok) problems.push(`the client's traffic did not follow the last split ${lastSplit.join('/')}: ${verdict?.reason ?? 'no verdict within 30 s'}`);

  const all = summaries(p);
  const ok = all.reduce((n, s) => n + s.ok, 0);
  const errors: Record<string, number> = {};
  for (const s of all) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
  const failed = Object.values(errors).reduce((n, v) => n + v, 0);
  if (failed > 0) problems.push(`${failed} failed calls (${Object.entries(errors).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  const p99s = all.filter((s) => s.ok > 0).map((s) => s.latencyMs.p99);

  // Memory: a window just after the warm-up against the last window, medians (GC comes and goes).
  const win = Math.min(60_000, (elapsedMs - WARMUP_MS) / 3);
  const growth: Record<string, { afterWarmupMb: number; endMb: number; growthPct: number }> = {};
  const servers: number[] = [];
  const mb = (kb: number) => Math.round(kb / 102.4) / 10;
  const byMinute = (name: string) => {
    const xs = rss.get(name) ?? [];
    return Array.from({ length: Math.ceil(elapsedMs / 60_000) }, (_, m) => xs.filter((x) => x.t >= m * 60_000 && x.t < (m + 1) * 60_000).map((x) => x.kb))
      .filter((w) => w.length)
      .map((w) => mb(median(w)));
  };
  for (const [name, xs] of rss) {
    // A replica's peak: its first samples are taken while it is still loading.
    if (name !== 'mesh' && name !== 'client') servers.push(Math.max(...xs.map((x) => x.kb)));
    const early = xs.filter((x) => x.t >= WARMUP_MS && x.t < WARMUP_MS + win).map((x) => x.kb);
    const late = xs.filter((x) => x.t >= elapsedMs - win).map((x) => x.kb);
    if (!early.length || !late.length || xs[0]!.t > WARMUP_MS) continue; // not there throughout
    const a = median(early);
    const b = median(late);
    const pct = ((b - a) / a) * 100;
    growth[name] = { afterWarmupMb: mb(a), endMb: mb(b), growthPct: Math.round(pct * 10) / 10 };
    if (pct > GROWTH_LIMIT) problems.push(`${name}: resident memory grew ${pct.toFixed(1)} % after the warm-up (${growth[name].afterWarmupMb} -> ${growth[name].endMb} MB)`);
  }
  if (Object.keys(growth).length === 0) problems.push('no process ran from the end of the warm-up to the end: nothing to compare');

  const result = {
    ok: problems.length === 0,
    problems,
    minutes: Math.round(elapsedMs / 600) / 100,
    rate: RATE,
    callsAnswered: ok,
    callsPerSecond: Math.round(ok / (elapsedMs / 1000)),
    failed,
    applies,
    rollouts,
    lastSplit: lastSplit.join('/'),
    lastSplitConvergedMs: verdict?.convergedMs ?? null,
    p99MsMedianWindow: p99s.length ? Math.round(median(p99s) * 100) / 100 : null,
    p99MsWorstWindow: p99s.length ? Math.round(Math.max(...p99s) * 100) / 100 : null,
    rss: growth,
    serverPeakRssMbRange: servers.length ? [mb(Math.min(...servers)), mb(Math.max(...servers))] : null,
    servers: servers.length,
    rssMbByMinute: { mesh: byMinute('mesh'), client: byMinute('client') },
    applyMs: { median: applyMs.length ? median(applyMs) : null, max: applyMs.length ? Math.max(...applyMs) : null },
    rolloutMs: { median: rolloutMs.length ? median(rolloutMs) : null, max: rolloutMs.length ? Math.max(...rolloutMs) : null },
    load: { start: load0.map((x) => Math.round(x * 100) / 100), median1m: Math.round(median(loadSamples) * 100) / 100, max1m: Math.round(Math.max(...loadSamples) * 100) / 100 },
    cores: os.cpus().length,
    node: process.version,
    startedAt: new Date(t0).toISOString(),
  };
  if (opt.write) writeSection(result);
  process.stdout.write(JSON.stringify(result) + '\n');
  for (const x of problems) log(`FAILED: ${x}`);
  return result.ok ? 0 : 1;
}

/** Replace BENCHMARKS.md's `## Soak` section (to the next `## ` heading or the end). */
function writeSection(r: Record<string, any>): void {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const rows = Object.entries(r.rss as Record<string, { afterWarmupMb: number; endMb: number; growthPct: number }>)
    .map(([name, g]) => `| ${name} | ${g.afterWarmupMb} MB | ${g.endMb} MB | ${g.growthPct} % |`)
    .join('\n');
  const section = `## Soak

\`npm run soak -- --write\` writes this section (bench/run.ts, \`npm run bench\`, rewrites the file without it).

\`npm run soak\` on ${r.startedAt.slice(0, 10)}: the local demo for ${r.minutes} minutes, the client at ${r.rate} calls/s
through the proxy, the split moved every ${SPLIT_MS / 1000} s (${r.applies} applies, one at a time: each is a fresh
\`local-mesh apply\`, which took ${r.applyMs.median} ms at the median and ${r.applyMs.max} ms at most, so a slow one
delays the next), a \`rollout restart\` of one server Deployment every ${ROLL_MS / 1000} s (${r.rollouts}, alternating
server-v1 and server-v2; each replaces its 3 replicas one at a time, ${r.rolloutMs.median} ms at the median).
${r.ok ? 'Held' : '**Failed**'}: ${r.failed} failed calls of ${r.callsAnswered + r.failed} (${r.callsPerSecond} answered/s); the last split (${r.lastSplit})
in force in the proxy, and in the client's counts ${r.lastSplitConvergedMs} ms after its apply.
${r.problems.length ? `Problems: ${r.problems.join('; ')}.\n` : ''}
Memory of the processes that ran throughout (medians of 5 s samples, the window after the
${WARMUP_MS / 1000} s warm-up against the last one; limit ${GROWTH_LIMIT} %):

| Process | after warm-up | at the end | growth |
| --- | --- | --- | --- |
${rows}

Median RSS by minute, MB: mesh ${r.rssMbByMinute.mesh.join(', ')}; client ${r.rssMbByMinute.client.join(', ')}.
Server replicas live about ${Math.round((2 * ROLL_MS) / 6000) / 10} minutes each here (they are rolled); the peaks of the ${r.servers} seen
ranged over ${r.serverPeakRssMbRange?.[0]}–${r.serverPeakRssMbRange?.[1]} MB.
Latency p99 per 1 s window: median ${r.p99MsMedianWindow} ms, worst ${r.p99MsWorstWindow} ms.
Machine: ${r.cores} cores shared with other work, Node ${r.node}; load average (1 min) at the start
${r.load.start[0]}, median ${r.load.median1m} and at most ${r.load.max1m} during the run.
`;
  const text = readFileSync(file, 'utf8');
  const m = /^## Soak\n[\s\S]*?(?=^## |(?![\s\S]))/m.exec(text);
  writeFileSync(file, m ? text.slice(0, m.index) + section + (text.slice(m.index + m[0].length) ? `\n${text.slice(m.index + m[0].length)}` : '') : `${text.trimEnd()}\n\n${section}`);
}

let code = 1;
try {
  code = await main();
} catch (e) {
  log(`FAILED: ${(e as Error).message}`);
} finally {
  try {
    log(await lm('down'));
  } catch (e) {
    log(`down failed: ${(e as Error).message}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
