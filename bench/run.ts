// `npm run bench`: every figure the project publishes, from one run, written to BENCHMARKS.md
// with the method and the machine, and printed as one JSON object on the last line.
//
// Each part runs as its own process (the same scripts can be run alone: see BENCHMARKS.md);
// figures that swing with machine load are medians of repeats, interleaved where two paths
// are compared. Nothing here listens beyond 127.0.0.1, and everything it starts is stopped.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedByVersion } from '../lib/shares.ts';
import { manifestFiles, readTopology, versionsByService } from '../lib/topology.ts';
import { stageCheck } from '../runner/observe/stage-check.ts';
import { loadState, paths } from '../scripts/local-mesh/state.ts';
import { copyEnv, copyProject } from '../test/e2e/copy-project.ts';
import { buildCompiled } from './compiled.ts';
import { median, splitYaml, summaries } from './local.ts';
import { rssMb } from './proc.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, quick: { type: 'boolean' }, out: { type: 'string', default: 'BENCHMARKS.md' } } });
const REPEATS = args.quick ? 1 : Number(args.repeats);
const SECONDS = args.quick ? 4 : 10;

const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Run a bench script; its last JSON line (or every JSON line) is its result. */
function runScript(file: string, argv: string[] = [], env: NodeJS.ProcessEnv = {}): Array<Record<string, any>> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...argv], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`${file} ${argv.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr.slice(-2000)}`);
  const results = r.stdout.split('\n').filter((l) => l.startsWith('{'));
  // Each result as it comes, so a later failure loses none of them.
  log(`  ${file} ${argv.join(' ')} (load ${os.loadavg()[0]!.toFixed(2)}): ${results.at(-1) ?? 'no result'}`);
  return results.map((l) => JSON.parse(l));
}

function lm(dir: string, argv: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'scripts/local-mesh.mjs'), ...argv], { cwd: ROOT, env: { ...process.env, LOCAL_MESH_DIR: dir, ...env }, encoding: 'utf8' });
}

/**
 * On the local target: memory of each process under 1,000 calls/s, and how long a split
 * change takes to show in the client's counts (apply -> the stage check converges, with
 * 250 ms windows).
 */
async function localTarget(): Promise<{ rss: { proxy: number; server: number; client: number }; convergedMs: number[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-local-'));
  try {
    lm(dir, ['up'], { LOCAL_MESH_CLIENT_ENV: 'RATE=1000 CONCURRENCY=200 INTERVAL_MS=250 LOG_FORMAT=json' });
    // What lm() handed local-mesh, so these are the folder and the manifests `up` used.
    const p = paths({ ...process.env, LOCAL_MESH_DIR: dir });
    const state = loadState(p);
    if (!state) throw new Error(`local-mesh up left no state in ${dir}`);
    const file = path.join(dir, 'split.yaml');
    writeFileSync(file, splitYaml(100, 0));
    lm(dir, ['apply', '-f', file]);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const pid = (name: string) => state.processes.filter((x) => x.name === name || x.name.startsWith(`${name}-`)).map((x) => x.pid);
    const most = (name: string) => Math.max(...pid(name).map((x) => rssMb(x)));
    const rss = { proxy: most('mesh'), server: most('server'), client: most('client') };

    const versions = versionsByService(readTopology(manifestFiles(p.deploy)));
    const convergedMs: number[] = [];
    const stages: Array<[number, number]> = [[95, 5], [50, 50], [0, 100], [100, 0]];
    for (let i = 0; i < REPEATS; i++) {
      for (const [v1, v2] of stages) {
        writeFileSync(file, splitYaml(v1, v2));
        const appliedAt = Date.now();
        lm(dir, ['apply', '-f', file]);
        const expected = expectedByVersion({ backends: [{ service: 'server-v1', weight: v1 }, { service: 'server-v2', weight: v2 }] }, versions);
        const check = stageCheck({ label: `${v1}/${v2}`, expected, appliedAt, allowErrors: false }, 3, 100);
        const deadline = Date.now() + 20_000;
        let verdict;
        let seen = 0;
        while (!verdict && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          const all = summaries(p);
          for (const s of all.slice(seen)) verdict ??= check.feed(s);
          seen = all.length;
        }
        if (!verdict?.ok) throw new Error(`stage ${v1}/${v2} did not converge: ${verdict?.reason ?? 'timeout'}`);
        convergedMs.push(verdict.convergedMs!);
      }
    }
    return { rss, convergedMs };
  } finally {
    try {
      lm(dir, ['down']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The `up` line of the local target in tutorial.md, with or without client overrides. */
const UP_LINE = /^(?:LOCAL_MESH_CLIENT_ENV=(?:'[^']*'|\S+) )?node scripts\/local-mesh\.mjs up$/m;

/**
 * The whole tutorial, local target, --yes with checks on, in a fresh copy of the project whose
 * local `up` line carries `clientEnv` (or none: the manifests' 20 calls/s, 2 s windows), so the
 * walk is timed both ways whatever tutorial.md says today.
 */
function localRun(clientEnv: string | undefined): number {
  const dir = copyProject('bench-walk-');
  try {
    const doc = path.join(dir, 'tutorial.md');
    const text = readFileSync(doc, 'utf8');
    if (!UP_LINE.test(text)) throw new Error('tutorial.md: no local `node scripts/local-mesh.mjs up` line to time the walk with');
    writeFileSync(doc, text.replace(UP_LINE, `${clientEnv ? `LOCAL_MESH_CLIENT_ENV='${clientEnv}' ` : ''}node scripts/local-mesh.mjs up`));
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '--allow-empty', '-qam', 'up line'], { cwd: dir, stdio: 'ignore' });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['runner.mjs', '--yes'], { cwd: dir, env: copyEnv(), encoding: 'utf8', timeout: 10 * 60_000 });
    const secs = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`local run failed (${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`);
    log(`  walk with ${clientEnv ?? 'the manifests\' settings'}: ${secs.toFixed(1)} s`);
    return secs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine(): string[] {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; load average at the start ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`,
    `- client, proxy and servers share the same cores, as on a laptop running kind`,
  ];
}

/** The local walk's client settings: tutorial.md's local `up` line should carry exactly these. */
export const LOCAL_CLIENT_ENV = 'RATE=100 INTERVAL_MS=500';

/** The lines of FILE's section HEADING (to the next `## `), or none. */
function keptSection(file: string, heading: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return [...lines.slice(start, end < 0 ? lines.length : end).join('\n').trimEnd().split('\n'), ''];
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const loads: Record<string, string> = {};
  const load = (what: string) => (loads[what] = os.loadavg().map((x) => x.toFixed(2)).join(' / '));
  const build = buildCompiled();
  try {
    log('mesh overhead at 1,000 calls/s (latency, throughput, apply): compiled and through tsx, interleaved');
    load('mesh');
    const mesh1000: Array<Record<string, any>> = [];
    const meshTsx: Array<Record<string, any>> = [];
    // The floor: the barest forwarder Node's http2 allows (bench/bare-forwarder.mjs), same closed loop.
    const bare: Array<Record<string, any>> = [];
    for (let i = 0; i < REPEATS; i++) {
      mesh1000.push(runScript('bench/mesh-overhead.ts', ['--rate', '1000', '--seconds', String(SECONDS), '--compiled', build.dir]).at(-1)!);
      meshTsx.push(runScript('bench/mesh-overhead.ts', ['--rate', '1000', '--seconds', String(SECONDS)]).at(-1)!);
      bare.push(runScript('bench/mesh-overhead.ts', ['--only', 'throughput', '--proxy', 'bare', '--compiled', build.dir]).at(-1)!);
    }
    log('latency rows at 200 and 2,000 calls/s (compiled)');
    load('rows');
    const rows = [200, 2000].map((rate) => ({ rate, r: runScript('bench/mesh-overhead.ts', ['--rate', String(rate), '--seconds', String(SECONDS), '--only', 'latency', '--compiled', build.dir]).at(-1)! }));
    log('client pacing at 2,000 calls/s');
    load('client');
    const clientRuns = Array.from({ length: REPEATS }, () => runScript('bench/client-throughput.ts'));
    const paced = clientRuns.map((r) => r.find((x) => x.mode === 'rate')!);
    const saturated = clientRuns.map((r) => r.find((x) => x.mode === 'saturate')!);
    log('memory of the whole demo at the tutorial rate: compiled with and without NODE_FLAGS, interleaved; then local-mesh up as it is');
    load('memory');
    const memFlags: Array<Record<string, any>> = [];
    const memPlain: Array<Record<string, any>> = [];
    for (let i = 0; i < REPEATS; i++) {
      memFlags.push(runScript('bench/memory.ts', ['--compiled', build.dir]).at(-1)!);
      memPlain.push(runScript('bench/memory.ts', ['--compiled', build.dir, '--no-flags']).at(-1)!);
    }
    const memLocalMesh = runScript('bench/memory.ts').at(-1)!;
    log('local target: apply to converged at 1,000 calls/s');
    load('local');
    const local = await localTarget();
    log('runner overhead per block');
    load('runner');
    const runner = runScript('bench/runner-overhead.ts', ['--runs', String(REPEATS)]).at(-1)!;
    log(`the whole local tutorial with --yes: with the local client settings (${LOCAL_CLIENT_ENV}), then with the manifests' (20 calls/s, 2 s windows)`);
    load('walk');
    const walkFast = localRun(LOCAL_CLIENT_ENV);
    const walkManifest = localRun(undefined);

    const med = (xs: Array<Record<string, any>>, f: (m: Record<string, any>) => number) => median(xs.map(f));
    const own = (leg: 'request' | 'response', q: 'p50' | 'p99') => round(med(mesh1000, (m) => m.proxyOwnMs[leg][q]), 3);
    const figures = {
      proxyAddedP50Ms1000: round(med(mesh1000, (m) => m.latency.addedP50)),
      proxyAddedP99Ms1000: round(med(mesh1000, (m) => m.latency.addedP99)),
      throughputRatio: round(med(mesh1000, (m) => m.throughput.ratio)),
      applyToFirstRoutedMs: round(med(mesh1000, (m) => m.apply.medianMs)),
      tsx: {
        proxyAddedP50Ms1000: round(med(meshTsx, (m) => m.latency.addedP50)),
        proxyAddedP99Ms1000: round(med(meshTsx, (m) => m.latency.addedP99)),
        throughputRatio: round(med(meshTsx, (m) => m.throughput.ratio)),
        applyToFirstRoutedMs: round(med(meshTsx, (m) => m.apply.medianMs)),
      },
      proxyOwnMs: { request: { p50: own('request', 'p50'), p99: own('request', 'p99') }, response: { p50: own('response', 'p50'), p99: own('response', 'p99') } },
      proxyCpuUsPerCall: { compiled: med(mesh1000, (m) => m.throughput.cpuUsPerCall.proxied.mesh), tsx: med(meshTsx, (m) => m.throughput.cpuUsPerCall.proxied.mesh) },
      bareForwarder: { throughputRatio: round(med(bare, (m) => m.throughput.ratio)), cpuUsPerCall: med(bare, (m) => m.throughput.cpuUsPerCall.proxied.mesh) },
      rateError2000: round(median(paced.map((p) => Math.abs(p.deviationPct) / 100)), 4),
      demoRssMb: { compiled: round(med(memFlags, (m) => m.totalRssMb), 0), compiledNoFlags: round(med(memPlain, (m) => m.totalRssMb), 0), localMeshUp: round(memLocalMesh.totalRssMb, 0) },
      demoPssMb: { compiled: round(med(memFlags, (m) => m.totalPssMb), 0), compiledNoFlags: round(med(memPlain, (m) => m.totalPssMb), 0), localMeshUp: round(memLocalMesh.totalPssMb, 0) },
      applyToConvergedMs: Math.round(median(local.convergedMs)),
      localRunSeconds: round(walkFast, 1),
      localRunManifestRateSeconds: round(walkManifest, 1),
      runnerZxRatio: round(runner.ratioZx),
      runnerBlockOverheadRatio: round(runner.ratio),
      runnerListMs: Math.round(runner.listMs),
      runnerZxCpuRatio: round(runner.cpuRatioZx),
      runnerListCpuMs: Math.round(runner.cpuMs.list),
      runnerLoad: round(runner.load, 1),
      rssMb1000: { proxy: round(local.rss.proxy, 1), server: round(local.rss.server, 1), client: round(local.rss.client, 1) },
      benchMinutes: 0,
      loads,
    };
    figures.benchMinutes = round((performance.now() - t0) / 60_000, 1);
    // The figures first, so a fault in the page below loses none of them.
    log(JSON.stringify(figures));

    const check = (ok: boolean) => (ok ? 'met' : '**missed**');
    const memMost = (xs: Array<Record<string, any>>) => {
      const m = xs[Math.floor((xs.length - 1) / 2)]!;
      return `${round(m.rssMb.proxy, 1)} / ${round(m.rssMb.server, 1)} / ${round(m.rssMb.client, 1)}`;
    };
    const ownLine = (leg: 'request' | 'response') => `p50 ${figures.proxyOwnMs[leg].p50} ms, p99 ${figures.proxyOwnMs[leg].p99} ms`;
    const md = [
      '# Benchmarks',
      '',
      `Figures from one run of \`npm run bench\` on ${started.toISOString().slice(0, 10)} (${REPEATS} repeat${REPEATS > 1 ? 's' : ''} where a median is quoted; the run took ${figures.benchMinutes} min).`,
      "They describe this project's local stand-in proxy on this machine, not Linkerd: for scale,",
      "Linkerd quotes under 1 ms p99 added by its Rust proxy. \"Compiled\" is the apps built by",
      '`tsc -p tsconfig.build.json` (bench/compiled.ts), as the images and the local target run them;',
      '"tsx" is the same source loaded through tsx, as `local-mesh up` ran it before.',
      '',
      '## Machine',
      '',
      ...machine(),
      `- load average (1 / 5 / 15 min) as each part began: ${Object.entries(loads).map(([k, v]) => `${k} ${v}`).join('; ')}`,
      '',
      '## Figures and targets',
      '',
      '| Figure | Value | Compared with | Target | |',
      '| --- | --- | --- | --- | --- |',
      `| added latency p50 at 1,000 calls/s (proxied − direct, interleaved), compiled proxy | ${figures.proxyAddedP50Ms1000} ms | through tsx ${figures.tsx.proxyAddedP50Ms1000} ms | ≤ 0.5 ms | ${check(figures.proxyAddedP50Ms1000 <= 0.5)} |`,
      `| added latency p99 at 1,000 calls/s, compiled proxy | ${figures.proxyAddedP99Ms1000} ms | through tsx ${figures.tsx.proxyAddedP99Ms1000} ms | ≤ 10 ms | ${check(figures.proxyAddedP99Ms1000 <= 10)} |`,
      `| the proxy's own time per call at 1,000 calls/s, request leg (\`mesh_proxy_overhead_ms\`) | ${ownLine('request')} | | | |`,
      `| the proxy's own time per call at 1,000 calls/s, response leg | ${ownLine('response')} | | | |`,
      `| most calls/s through the proxy ÷ direct (CONCURRENCY 64), compiled | ${figures.throughputRatio} | through tsx ${figures.tsx.throughputRatio} | ≥ 0.7 | ${check(figures.throughputRatio >= 0.7)} |`,
      `| … the barest forwarder Node's http2 allows (bench/bare-forwarder.mjs) in the proxy's place: calls/s ÷ direct | ${figures.bareForwarder.throughputRatio} | | | |`,
      `| proxy CPU per call (closed loop), compiled | ${figures.proxyCpuUsPerCall.compiled} µs | through tsx ${figures.proxyCpuUsPerCall.tsx} µs; the bare forwarder ${figures.bareForwarder.cpuUsPerCall} µs | | |`,
      `| apply → first call routed by the new split, compiled | ${figures.applyToFirstRoutedMs} ms | through tsx ${figures.tsx.applyToFirstRoutedMs} ms | ≤ 20 ms | ${check(figures.applyToFirstRoutedMs <= 20)} |`,
      `| client rate error at 2,000 calls/s | ${(100 * figures.rateError2000).toFixed(2)} % | | ≤ 2 % | ${check(figures.rateError2000 <= 0.02)} |`,
      `| whole local demo (6 servers, proxy, client), compiled, RSS after 15 s at 20 calls/s | ${figures.demoRssMb.compiled} MB (PSS ${figures.demoPssMb.compiled}) | without NODE_FLAGS ${figures.demoRssMb.compiledNoFlags} MB (PSS ${figures.demoPssMb.compiledNoFlags}); \`local-mesh up\` as it is ${figures.demoRssMb.localMeshUp} MB (PSS ${figures.demoPssMb.localMeshUp}) | ≤ 450 MB | ${check(figures.demoRssMb.compiled <= 450)} |`,
      `| … largest proxy / server / client, MB RSS | ${memMost(memFlags)} | without NODE_FLAGS ${memMost(memPlain)} | | |`,
      `| whole local tutorial, \`--yes\`, checks on, local client settings (${LOCAL_CLIENT_ENV}) | ${figures.localRunSeconds} s | manifests' 20 calls/s, 2 s windows: ${figures.localRunManifestRateSeconds} s | ≤ 45 s | ${check(figures.localRunSeconds <= 45)} |`,
      `| apply → stage check converged (250 ms windows, 3 in a row, ≥ 100 calls) | ${figures.applyToConvergedMs} ms | | | |`,
      `| runner: 100 \`true\` blocks ÷ the same document in zx's markdown mode (\`zx doc.md\`), wall (CPU) | ${figures.runnerZxRatio} (${figures.runnerZxCpuRatio}) | | ≤ 1.0 | ${check(figures.runnerZxRatio <= 1)} |`,
      `| runner: 100 \`true\` blocks ÷ 100 × \`bash -c true\` | ${figures.runnerBlockOverheadRatio} | | | |`,
      `| runner start-up: \`node runner.mjs --list\` (median), wall (CPU), at load ${figures.runnerLoad} | ${figures.runnerListMs} ms (${figures.runnerListCpuMs} ms) | \`node -e 0\` ${Math.round(runner.nodeMs)} ms | ≤ 150 ms | ${check(figures.runnerListMs <= 150)} |`,
      `| memory (RSS) under 1,000 calls/s, \`local-mesh up\`: proxy / largest server / client | ${figures.rssMb1000.proxy} / ${figures.rssMb1000.server} / ${figures.rssMb1000.client} MB | | | |`,
      '',
      '## Latency by rate (compiled proxy)',
      '',
      '| calls/s per path | direct p50 | direct p99 | proxied p50 | proxied p99 | added p50 | added p99 |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...[...rows.slice(0, 1), { rate: 1000, r: mesh1000[Math.floor((mesh1000.length - 1) / 2)]! }, ...rows.slice(1)].map(({ rate, r }) => {
        const l = r.latency;
        const f = (x: number) => round(x).toFixed(2);
        return `| ${rate.toLocaleString('en')} | ${f(l.direct.p50)} | ${f(l.direct.p99)} | ${f(l.proxied.p50)} | ${f(l.proxied.p99)} | ${f(l.addedP50)} | ${f(l.addedP99)} |`;
      }),
      '',
      `Throughput at CONCURRENCY 64 (median run, compiled): direct ${Math.round(med(mesh1000, (m) => m.throughput.direct))} calls/s, proxied ${Math.round(med(mesh1000, (m) => m.throughput.proxied))} calls/s.`,
      `CPU pressure (share of the time some task waited for a CPU) during the 1,000 calls/s runs: ${mesh1000.map((m) => `${Math.round(100 * m.cpuPressure)} %`).join(', ')} (compiled), ${meshTsx.map((m) => `${Math.round(100 * m.cpuPressure)} %`).join(', ')} (tsx).`,
      `The client alone against one server at CONCURRENCY 32: ${Math.round(median(saturated.map((s) => s.callsPerSec)))} calls/s, p50 ${median(saturated.map((s) => s.p50Ms))} ms, p99 ${median(saturated.map((s) => s.p99Ms))} ms.`,
      `Runner, 100 blocks: ${(runner.runnerMs / 1000).toFixed(2)} s (${(runner.runnerEmptyMs / 1000).toFixed(2)} s with none) against ${(runner.zxMs / 1000).toFixed(2)} s for zx's markdown mode on the same document and ${(runner.shellLoopMs / 1000).toFixed(2)} s for the shell loop; \`node runner.mjs --list\` ${Math.round(runner.listMs)} ms against ${Math.round(runner.nodeMs)} ms for \`node -e 0\`. CPU (user + system, with what each started): runner ${Math.round(runner.cpuMs.runner)} ms (${Math.round(runner.cpuMs.runnerEmpty)} ms with none), zx ${Math.round(runner.cpuMs.zx)} ms (${Math.round(runner.cpuMs.zxEmpty)} ms with none), per block ${runner.cpuPerBlockMs.toFixed(2)} ms against zx's ${runner.zxCpuPerBlockMs.toFixed(2)} ms; \`--list\` ${Math.round(runner.cpuMs.list)} ms against ${Math.round(runner.cpuMs.node)} ms; load average ${runner.load} (median of the rounds).`,
      '',
      ...readFileSync(path.join(ROOT, 'bench/notes.md'), 'utf8').trimEnd().split('\n'),
      '',
      // The soak is its own run (npm run soak -- --write): keep its section as it is.
      ...keptSection(path.join(ROOT, args.out), '## Soak'),
    ].join('\n');
    writeFileSync(path.join(ROOT, args.out), md);
    log(`wrote ${args.out} in ${figures.benchMinutes} min`);
    console.log(JSON.stringify(figures));
  } finally {
    build.remove();
  }
}

await main();
