// Every way a run can go wrong, in one table: each ends with its documented exit code
// (`node runner.mjs --help`: 1 failed, 2 usage or document error, 130 interrupted), one line
// that says why, no stack trace, no process left behind, the edited file put back and the
// runner's temp folder gone. test/runner/ covers each path in depth; this holds them all to
// the same contract, including the two it had no test for: a missing tool and a read-only
// target file.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkoutFor, dropTo, isRoot, SETPRIV } from './as-user.ts';
import { FIXTURE_SPLIT as SPLIT, fence, hasScript, killAll, readPids, startOnPty, startRunner, tempDir, testEnv, waitForFile, waitGone, type RunOutput, type TempDir } from '../runner/helpers.ts';


const canDropRoot = !isRoot || SETPRIV !== undefined;
const NOBODY = 65534;

interface Case {
  name: string;
  /** Section 2 of the document: where it goes wrong. */
  failing: (dir: string) => string;
  /** How the run is driven: to its end, SIGINT once a block is running, Ctrl-C typed at a prompt. */
  drive?: 'run' | 'sigint-mid-block' | 'ctrl-c-at-prompt';
  /** Before the run (e.g. make the target read-only). */
  prepare?: (t: TempDir) => void;
  /** Run as an unprivileged user (root writes read-only files). */
  unprivileged?: boolean;
  code: number;
  reason: RegExp;
  /** Refused before anything ran (document and stage errors). */
  nothingRuns?: boolean;
  skip?: string | false;
}

const CASES: Case[] = [
  { name: 'failing block', failing: (d) => fence('sh', `echo $$ >> ${d}/pids\nexit 3`), code: 1, reason: /^\s*block exited with code 3$/ },
  {
    name: 'timeout',
    failing: (d) => fence('sh {timeout=1s}', `sleep 30 & echo $! >> ${d}/pids\necho $$ >> ${d}/pids\nsleep 30`),
    code: 1,
    reason: /^\s*block timed out after 1s$/,
  },
  {
    name: 'missing tool',
    failing: (d) => fence('sh', `echo $$ >> ${d}/pids\nno-such-tool-xyz --version`),
    code: 1,
    reason: /^\s*block exited with code 127 \(command not found: no-such-tool-xyz\)$/,
  },
  {
    name: 'Ctrl-C mid-block',
    failing: (d) => fence('sh', `sleep 30 & echo $! >> ${d}/pids\necho $$ >> ${d}/pids\ntouch ${d}/in-block\nsleep 30`),
    drive: 'sigint-mid-block',
    code: 130,
    reason: /^interrupted after [\d.]+s \(exit 130\)$/,
  },
  {
    name: 'Ctrl-C at a prompt',
    failing: (d) => fence('sh', `touch ${d}/never`),
    drive: 'ctrl-c-at-prompt',
    code: 130,
    reason: /^interrupted after [\d.]+s \(exit 130\)$/,
    skip: !hasScript() && 'needs util-linux script for a terminal',
  },
  {
    name: 'malformed document',
    failing: () => fence('sh {timeout=soon}', 'true'),
    code: 2,
    reason: /^runner: doc\.md:\d+: timeout must be a duration like 30s, 10m or 500ms, got "soon"$/,
    nothingRuns: true,
  },
  {
    name: 'bad stage YAML',
    failing: () => fence('yaml {file=split.yaml}', 'spec:\n  backends: [{service: v1, weight: 5}\n  oops'),
    code: 2,
    reason: /^runner: doc\.md:\d+: bad YAML in the edit for split\.yaml: /,
    nothingRuns: true,
  },
  {
    name: 'read-only target file',
    failing: () => fence('yaml {file=split.yaml}', 'spec:\n  backends:\n    - service: v1\n      weight: 50'),
    prepare: (t) => chmodSync(path.join(t.dir, 'split.yaml'), 0o444),
    unprivileged: true,
    code: 2,
    reason: /^runner: doc\.md:\d+: split\.yaml: cannot write \(EACCES\)$/,
    nothingRuns: true,
    skip: !canDropRoot && 'running as root without setpriv: root writes read-only files',
  },
];

/** Section 1 edits split.yaml and starts a background block; section 2 goes wrong; section 3 must not run. */
function document(dir: string, failing: string): string {
  return [
    '# Setup',
    '',
    'Intro of setup.',
    '',
    fence('sh', `echo $$ >> ${dir}/pids\ntouch ${dir}/ran`),
    fence('yaml {file=split.yaml}', 'spec:\n  backends:\n    - service: v1\n      weight: 60\n    - service: v2\n      weight: 40'),
    fence('sh {background=true name=bg ready="bg up"}', `echo $$ >> ${dir}/pids\nsleep 300 & echo $! >> ${dir}/pids\necho "bg up"\nwait`),
    '# Trouble',
    '',
    'Intro of trouble.',
    '',
    failing,
    '# After',
    '',
    fence('sh', `touch ${dir}/after`),
  ].join('\n');
}

async function drive(c: Case, t: TempDir, tmp: string): Promise<RunOutput> {
  const env = testEnv({ TMPDIR: tmp });
  if (c.drive === 'ctrl-c-at-prompt') {
    const r = startOnPty(['doc.md'], { cwd: t.dir, env, timeoutMs: 40_000 });
    try {
      await r.waitFor(/Intro of setup\.[\s\S]*Enter run · s skip · q quit/);
      r.type('\r');
      await r.waitFor(/Intro of trouble\.[\s\S]*Enter run · s skip · q quit/);
      r.type('\x03');
      return await r.done;
    } finally {
      r.kill();
    }
  }
  // As nobody, from a copy of the runner when this checkout is out of its reach (as-user.ts).
  const checkout = c.unprivileged && isRoot ? checkoutFor(NOBODY) : undefined;
  const runner = path.resolve(import.meta.dirname, '../../runner.mjs');
  const r = startRunner(['doc.md', '--yes'], {
    cwd: t.dir,
    env,
    timeoutMs: 40_000,
    ...(checkout ? { command: [...dropTo(NOBODY), process.execPath, checkout.at(runner), 'doc.md', '--yes'] } : {}),
  });
  try {
    if (c.drive === 'sigint-mid-block') {
      await waitForFile(path.join(t.dir, 'in-block'));
      process.kill(r.pid, 'SIGINT');
    }
    return await r.done;
  } finally {
    r.kill();
    checkout?.cleanup();
  }
}

describe('runner failure paths: documented exit code, one line saying why, nothing left behind', () => {
  for (const c of CASES) {
    it(`${c.name}: exit ${c.code}`, { skip: c.skip || false }, async () => {
      const t = tempDir();
      const tmp = path.join(t.dir, 'tmp');
      let pids: number[] = [];
      try {
        mkdirSync(tmp);
        t.write('split.yaml', SPLIT);
        t.write('doc.md', document(t.dir, c.failing(t.dir)));
        if (c.unprivileged && isRoot) {
          // The unprivileged runner must read the folder and use its own temp folder.
          chmodSync(t.dir, 0o755);
          chmodSync(tmp, 0o777);
        }
        c.prepare?.(t);
        const out = await drive(c, t, tmp);
        pids = readPids(path.join(t.dir, 'pids'));
        // On a terminal stdout and stderr are one stream.
        const stderr = (c.drive === 'ctrl-c-at-prompt' ? out.stdout : out.stderr).replace(/\r/g, '');
        const lines = stderr.split('\n').filter((l) => l.trim() !== '');

        assert.equal(out.code, c.code, `exit code\n${out.stdout}\n${out.stderr}`);
        assert.equal(lines.filter((l) => c.reason.test(l)).length, 1, `one line saying why (${c.reason}) in:\n${stderr}`);
        assert.ok(!/internal error|^\s+at /m.test(stderr), `no stack trace:\n${stderr}`);
        if (c.code === 2) assert.equal(lines.length, 1, `a document error is one line:\n${stderr}`);
        if (c.code === 1) assert.match(lines.at(-1)!, /^run failed after [\d.]+s \(exit 1\)$/);
        if (c.code === 130) assert.match(lines.at(-1)!, c.reason);

        assert.equal(existsSync(path.join(t.dir, 'ran')), !c.nothingRuns, c.nothingRuns ? 'nothing ran' : 'section 1 ran');
        assert.equal(existsSync(path.join(t.dir, 'after')), false, 'nothing after the failure ran');
        assert.equal(existsSync(path.join(t.dir, 'never')), false);
        if (!c.nothingRuns) assert.ok(pids.length >= 3, `block pids written: ${pids}`);
        assert.deepEqual(await waitGone(pids), [], 'no process left');
        assert.equal(t.read('split.yaml'), SPLIT, 'the edited file is put back');
        assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('tutorial-run-')), [], "the runner's temp folder is removed");
      } finally {
        killAll(pids);
        try {
          chmodSync(path.join(t.dir, 'split.yaml'), 0o644);
        } catch {
          // not there
        }
        t.cleanup();
      }
    });
  }
});

// Keeps the file honest about what it checks: every documented exit code appears above.
it('the table covers every documented exit code', () => {
  assert.deepEqual([...new Set(CASES.map((c) => c.code))].sort((a, b) => a - b), [1, 2, 130]);
});
