// The programs a run needs and does not find are named before anything runs, one line each
// with how to get it: the real runner with a PATH that holds only bash, or nothing at all.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { which } from 'zx';
import { readDocument } from '../../runner/document.ts';
import { makePlan } from '../../runner/plan.ts';
import { missingPrograms } from '../../runner/preflight.ts';
import { fence, PROJECT_LINES, projectFrontMatter, runRunner, tempDir, testEnv } from './helpers.ts';

const DOC = [
  `${projectFrontMatter()}# Setup\n`,
  fence('sh', 'touch ran\nkind create cluster --name x\n# docker build .   (a comment: not a call)'),
  fence('sh {target=local}', 'echo hi | timeout 5 cat'),
  fence('sh {target=kind}', 'if true; then kubectl get pods; fi'),
].join('\n');

describe('preflight: missing programs', () => {
  it('names each program the plan calls, with where and how to get it; comments and other targets do not count', () => {
    const t = tempDir();
    try {
      const doc = readDocument(t.write('doc.md', DOC));
      const local = (verify: boolean, have: string[]) => missingPrograms(makePlan(doc, { target: 'local' }), { verify, follows: [] }, (n) => have.includes(n));
      // What the checks follow on kind (the front matter's traffic command).
      const follows = ['exec kubectl logs -f -n link deploy/client -c client --tail=20'];
      assert.deepEqual(local(true, []).map((l) => l.split(' ')[0]), ['bash', 'kind', 'timeout']);
      assert.deepEqual(local(true, ['bash', 'kind', 'timeout']), []);
      const kind = missingPrograms(makePlan(doc, { target: 'kind' }), { verify: true, follows }, (n) => n === 'bash');
      assert.deepEqual(kind, [
        `kubectl not found on PATH (the traffic checks follow the client with: ${follows[0]}): install kubectl within one minor of the cluster's Kubernetes (the document's prerequisites say which): https://kubernetes.io/docs/tasks/tools/`,
        `kind not found on PATH (${doc.file}:${3 + PROJECT_LINES} calls it): install kind at the release the document's prerequisites name: https://kind.sigs.k8s.io/docs/user/quick-start/#installation`,
      ]);
      // Without the checks, kubectl is still needed where a block calls it.
      const unchecked = missingPrograms(makePlan(doc, { target: 'kind' }), { verify: false, follows }, (n) => n === 'bash');
      assert.deepEqual(unchecked.map((l) => l.replace(/: install.*$/, '')), [`kind not found on PATH (${doc.file}:${3 + PROJECT_LINES} calls it)`, `kubectl not found on PATH (${doc.file}:${13 + PROJECT_LINES} calls it)`]);
    } finally {
      t.cleanup();
    }
  });

  it('the runner on kind without kubectl: one line naming it, exit 1, nothing run', async () => {
    const bash = which.sync('bash', { nothrow: true });
    assert.ok(bash, 'bash on PATH for this test');
    const t = tempDir();
    try {
      t.write('doc.md', DOC);
      const bin = path.join(t.dir, 'bin');
      mkdirSync(bin);
      symlinkSync(bash, path.join(bin, 'bash'));
      const r = await runRunner(['doc.md', '--yes', '--target', 'kind'], { cwd: t.dir, env: testEnv({ PATH: bin }) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.deepEqual(lines.map((l) => l.replace(/ \(.*$/, '')), ['runner: kubectl not found on PATH', 'runner: kind not found on PATH']);
      assert.match(lines[0]!, /https:\/\/kubernetes\.io\/docs\/tasks\/tools\//);
      assert.equal(existsSync(path.join(t.dir, 'ran')), false, 'nothing ran');

      const none = await runRunner(['doc.md', '--yes'], { cwd: t.dir, env: testEnv({ PATH: path.join(t.dir, 'empty') }) });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^runner: bash not found on PATH \(the runner runs every block with it\): install bash/m);
      assert.match(none.stderr, /^runner: timeout not found on PATH \(doc\.md:\d+ calls it\): install GNU coreutils/m);
    } finally {
      t.cleanup();
    }
  });
});
