// The whole tutorial, local target, as a reader runs it after `npm ci`: `node runner.mjs --yes`
// in a fresh copy of the project (a git repository of its own, so the run cannot disturb the
// working tree other tests read, and so `git status` can show it leaves nothing behind).
// The traffic is judged here independently of the runner's own checks: from the client's log
// and the history of applies that local-mesh keeps. The run's own verdicts (the tutorial's
// pinned and spread claims, each stage) and its JUnit file are checked too; the file is
// written in a temp folder and, when TUTORIAL_JUNIT names a path (.ci/run does), kept there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { readDocument } from '../../runner/document.ts';
import { documentClaims } from '../../runner/observe/claims.ts';
import { makePlan } from '../../runner/plan.ts';
import { checkShares, expectedByVersion } from '../../lib/shares.ts';
import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { manifestFiles, readTopology, versionsByService } from '../../lib/topology.ts';
import { paths, readHistory } from '../../scripts/local-mesh/state.ts';
import { isAlive } from '../runner/helpers.ts';
import { copyProject, runCopy } from './copy-project.ts';

/** How the header route's apply shows in local-mesh's history (its default rule's weights). */
const HEADER_ROUTE = 'server-v1=95,server-v2=5';

test('node runner.mjs --yes walks the whole local tutorial', { timeout: 300_000 }, async (t) => {
  const dir = copyProject('local-walk-');
  const results = mkdtempSync(path.join(os.tmpdir(), 'local-walk-junit-'));
  const junit = path.join(results, 'tutorial-walk.xml');
  const report = path.join(results, 'report.html');
  try {
    const { code, out, ms } = await runCopy(dir, ['--yes', '--junit', junit, '--report', report], 280_000);
    // The run's verdict lines and its wall time, for the record.
    t.diagnostic(`walk: ${(ms / 1000).toFixed(0)} s, exit ${code}`);
    for (const line of out.split('\n').filter((l) => /^\s*[✓✗] /.test(l))) t.diagnostic(line.trim());
    assert.equal(code, 0, out.slice(-4000));
    if (process.env.TUTORIAL_JUNIT) {
      mkdirSync(path.dirname(process.env.TUTORIAL_JUNIT), { recursive: true });
      copyFileSync(junit, process.env.TUTORIAL_JUNIT);
    }

    // The tutorial's claims, as the run judged them.
    assert.match(out, /✓ pinned: \d+ calls, all on server-v[12]-\w+ \(1 of 6 pods\)/);
    assert.match(out, /✓ spread: server-v1 3 of 3 pods \(\d+\/\d+\/\d+ %\), no v2 \(n=\d+\)/);
    // Its JUnit file: a testcase for every block of the plan (the kind ones skipped) and every check.
    const doc = readDocument(path.join(dir, 'tutorial.md'));
    const plan = makePlan(doc, { target: 'local' });
    const steps = plan.sections.flatMap((p) => p.steps).filter((st) => st.action !== 'show');
    const claimCount = [...documentClaims(doc).values()].flat().length;
    const stageSections = plan.sections.filter((p) => p.steps.some((st) => st.action === 'stage')).length;
    const suite = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' }).parse(readFileSync(junit, 'utf8')).testsuites.testsuite;
    const cases = suite.testcase as Array<Record<string, unknown>>;
    assert.equal(cases.length, steps.length + claimCount + stageSections);
    assert.equal(Number(suite['@_failures']), 0);
    assert.equal(cases.filter((c) => c.skipped !== undefined).length, steps.filter((st) => st.action === 'skip').length);
    const checks = cases.filter((c) => /^(pinned|spread|errors|shares group=\w+|stage \S+) tutorial\.md:\d+$/.test(String(c['@_name'])));
    assert.equal(checks.length, claimCount + stageSections);

    const state = path.join(dir, '.local-mesh');
    const history = readHistory(paths({ LOCAL_MESH_DIR: state }));
    // The client was started again once (Route by header turns its header share on): its first
    // log was rotated to client.previous.log.
    const summaries = ['client.previous.log', 'client.log']
      .flatMap((f) => readFileSync(path.join(state, f), 'utf8').split('\n'))
      .map(parseSummaryLine)
      .filter((s): s is Summary => !!s);
    const versionsOf = versionsByService(readTopology([...manifestFiles(path.join(dir, 'deploy/linkerd')), ...manifestFiles(path.join(dir, 'deploy/gamma'))]));

    // Every split the walk applied, in order: the tutorial's stages.
    const applies = history.filter((h) => h.event === 'applied');
    const labels = applies.map((a) => a.backends!.map((b) => `${b.service}=${b.weight}`).join(','));
    assert.deepEqual(labels, [
      'server-v1=100',
      'server-v1=95,server-v2=5',
      'server-v1=100',
      'server-v1=50,server-v2=50',
      'server-v2=100',
      'server-v1=0,server-v2=100',
      'server-v1=100,server-v2=0',
      HEADER_ROUTE,
    ]);
    for (const [i, a] of applies.entries()) {
      const from = Date.parse(a.ts);
      const to = i + 1 < applies.length ? Date.parse(applies[i + 1]!.ts) : Infinity;
      // Windows wholly inside the stage: begun after this apply, ended before the next.
      const windows = summaries.filter((s) => Date.parse(s.ts) - s.intervalMs >= from && Date.parse(s.ts) <= to);
      // Calls by the version that answered, failed ones too (the canary's failures are v2's calls).
      // With the header route, the plain calls follow the weights (the old client's had no header).
      const headerStage = i === applies.length - 1;
      const counts: Record<string, number> = {};
      for (const w of windows) {
        const plain = headerStage && w.groups ? w.groups.plain : w;
        for (const by of [plain.byVersion, plain.errorsByVersion ?? {}]) for (const [v, n] of Object.entries(by)) counts[v] = (counts[v] ?? 0) + n;
      }
      const check = checkShares(expectedByVersion({ backends: a.backends! }, versionsOf), counts);
      assert.ok(check.n >= 40, `stage ${labels[i]}: only ${check.n} calls observed`);
      assert.ok(check.ok, `stage ${labels[i]}: ${check.reason} (${JSON.stringify(counts)})`);
      if (headerStage) {
        const header: Record<string, number> = {};
        for (const w of windows) for (const [v, n] of Object.entries(w.groups?.header.byVersion ?? {})) header[v] = (header[v] ?? 0) + n;
        assert.deepEqual(Object.keys(header), ['v2'], `the header calls all on v2: ${JSON.stringify(header)}`);
        assert.ok(header.v2! >= 20, `header calls: ${header.v2}`);
      }
    }
    // Calls failed only while v2 had its fault and got calls: from the canary's section up to
    // the rollback (a window may span it), from v2 only, and some did.
    const canaryFrom = Date.parse(applies[1]!.ts);
    const rolledBack = Date.parse(applies[2]!.ts);
    const failedWindows = summaries.filter((s) => Object.values(s.errors).some((n) => n > 0));
    assert.ok(failedWindows.length > 0, 'the canary failed calls');
    for (const w of failedWindows) {
      assert.deepEqual(Object.keys(w.errorsByVersion ?? {}), ['v2'], `failed calls from v2 only: ${JSON.stringify(w)}`);
      assert.ok(Date.parse(w.ts) > canaryFrom && Date.parse(w.ts) - w.intervalMs < rolledBack, `a failure outside the canary: ${w.ts}`);
    }
    assert.match(out, /✓ errors: \d+ failed of \d+ calls \([\d.]+%\): UNAVAILABLE=\d+, by version v2=\d+, expected failed calls only from v2 at 2\.5% ± [\d.]+%/);
    assert.match(out, /✓ stage 100\/0: observed 100\/0 .* errors \d+/);
    assert.match(out, /✓ errors: none in \d+ calls/);
    assert.match(out, /✓ shares group=header 0\/100: observed 0\/100/);
    assert.match(out, /✓ shares group=plain 95\/5: observed /);
    // The report's Checks table has a row for each of them, by name.
    const html = readFileSync(report, 'utf8');
    for (const name of ['errors', 'stage 100/0', 'shares group=header', 'shares group=plain']) assert.ok(html.includes(`<td class="check-name">${name}</td>`), `the report's checks show ${name}`);
    assert.ok(summaries.at(-1)?.final, 'the client was stopped cleanly and printed its final summary');

    const pids = history.filter((h) => h.event === 'started').map((h) => h.pid!);
    // 6 servers, the proxy, the client; 3 v2 replicas for the fault and 3 to heal; the client again.
    assert.equal(pids.length, 15);
    assert.deepEqual(pids.filter(isAlive), [], 'every process the run started is gone');
    assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' }), '', 'the run leaves the tree as it found it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(results, { recursive: true, force: true });
  }
});
