// Client throughput against one local server process (loopback, no mesh):
//   node --import tsx bench/client-throughput.ts
// 1. saturate: CONCURRENCY=32 and a RATE far above what one server answers; calls/s, p50, p99.
// 2. rate: RATE=2000 open loop; how close the achieved rate comes to the target.
// Prints one JSON line per measurement. BENCH_MS sets each measured run (default 5000).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startClient, type SummaryExtra } from '../apps/client/client.ts';
import { parseServerListening } from '../lib/readiness.ts';
import type { Summary } from '../lib/summary.ts';

const runMs = Number(process.env.BENCH_MS ?? 5000);
const root = fileURLToPath(new URL('../', import.meta.url));

async function startServerProcess() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', VERSION: 'v1', POD_NAME: 'bench' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = parseServerListening(out);
      if (m) resolve(m.port);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, port };
}

/** One client run; the single summary (interval = whole run) covers it all. */
async function run(addr: string, rate: number, concurrency: number, ms: number): Promise<Summary & SummaryExtra> {
  let skipped = 0;
  const c = startClient({
    serverAddr: addr, rate, concurrency, deadlineMs: 5000, intervalMs: 3_600_000,
    onSummary: (_s, extra) => void (skipped += extra.skipped),
  });
  if (!(await c.ready)) throw new Error('client never connected');
  await new Promise((r) => setTimeout(r, ms));
  const s = await c.stop();
  return { ...s, skipped };
}

const server = await startServerProcess();
const addr = `127.0.0.1:${server.port}`;
try {
  await run(addr, 5000, 32, 1000); // warm-up: JIT, connection

  const sat = await run(addr, 100_000, 32, runMs);
  console.log(JSON.stringify({
    bench: 'client-throughput', mode: 'saturate', concurrency: 32, offeredRate: 100_000,
    seconds: sat.intervalMs / 1000, calls: sat.total, errors: sat.total - sat.ok,
    callsPerSec: Math.round(sat.total / (sat.intervalMs / 1000)),
    p50Ms: sat.latencyMs.p50, p99Ms: sat.latencyMs.p99,
  }));

  const target = 2000;
  const paced = await run(addr, target, 100, runMs);
  // Only the pacing matters here: calls started = completed + skipped.
  const started = paced.total + paced.skipped;
  const achieved = started / (paced.intervalMs / 1000);
  console.log(JSON.stringify({
    bench: 'client-throughput', mode: 'rate', targetRate: target, concurrency: 100,
    seconds: paced.intervalMs / 1000, started, skipped: paced.skipped, errors: paced.total - paced.ok,
    achievedRate: Math.round(achieved), deviationPct: Math.round((10_000 * (achieved - target)) / target) / 100,
    p50Ms: paced.latencyMs.p50, p99Ms: paced.latencyMs.p99,
  }));
} finally {
  server.child.kill('SIGTERM');
}
