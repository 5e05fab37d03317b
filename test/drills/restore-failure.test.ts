// A file the runner edited that cannot be put back at the end (a block made it read-only) is
// named in a warning, not left as a silent diff. Run as an unprivileged user: root writes
// read-only files. That uid runs a copy of the runner when this checkout is out of its reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { checkoutFor, dropTo, isRoot as root, SETPRIV } from './as-user.ts';
import { fence, RUNNER, startRunner, tempDir, testEnv } from '../runner/helpers.ts';

const NOBODY = 65534;

test('an edited file that cannot be restored is reported', { skip: root && !SETPRIV ? 'running as root without setpriv' : false, timeout: 60_000 }, async () => {
  const t = tempDir();
  const checkout = checkoutFor(NOBODY);
  try {
    chmodSync(t.dir, 0o777);
    const before = 'kind: TrafficSplit\napiVersion: split.smi-spec.io/v1alpha2\nmetadata:\n  name: s\nspec:\n  service: apex\n  backends:\n    - service: a\n      weight: 100\n';
    chmodSync(t.write('split.yaml', before), 0o666);
    chmodSync(t.write('doc.md', ['# Edit\n', fence('yaml {file=split.yaml}', '...\nspec:\n  backends:\n    - service: b\n      weight: 1\n'), fence('sh', 'cp split.yaml copy && mv -f copy split.yaml && chmod 0444 split.yaml')].join('\n')), 0o644);
    const node = [process.execPath, checkout.at(RUNNER), 'doc.md', '--yes', '--no-verify'];
    const command = root ? [...dropTo(NOBODY), ...node] : node;
    const r = startRunner([], { cwd: t.dir, env: testEnv(), command, timeoutMs: 50_000 });
    try {
      const out = await r.done;
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /! could not put back split\.yaml \(EACCES\): it keeps the run's edits/);
      assert.match(t.read('split.yaml'), /service: b/, 'the edit is indeed still there');
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
    checkout.cleanup();
  }
});
