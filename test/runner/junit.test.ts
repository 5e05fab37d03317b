// --junit FILE: JUnit XML a CI system reads, read back here with a real XML parser
// (fast-xml-parser) and compared with what the run did: a testcase per block (skipped ones
// as skipped, with why), the failing block's exit code, command and stderr tail, and a file
// also when the run fails or is interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fence, runRunner, startRunner, tempDir, TARGETS_FRONT_MATTER } from './helpers.ts';

interface XCase {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  skipped?: { '@_message': string };
  failure?: { '@_message': string; '#text': string };
}

function read(xml: string) {
  assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
  const suite = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' }).parse(xml).testsuites.testsuite;
  return { suite, cases: suite.testcase as XCase[] };
}

test('a failing run: each block a testcase, the failure with exit code, command and stderr; later blocks skipped', async () => {
  const t = tempDir();
  try {
    t.write(
      'doc.md',
      [
        // The project's two targets: 3 lines of front matter first.
        TARGETS_FRONT_MATTER + '# First & "one"\n',
        fence('sh', 'echo hello'),
        fence('sh {target=kind}', 'kubectl get pods'),
        fence('sh {skip=true}', 'rm -rf /'),
        '# Second\n',
        fence('sh', 'printf "\\033[31mred\\033[0m bad <thing>\\n" >&2\nfalse && true\nexit 3'),
        '<!-- runner:expect errors none -->\n',
        '# Third\n',
        fence('sh', 'echo never'),
        fence('sh {always=true}', 'echo cleanup'),
      ].join('\n'),
    );
    const r = await runRunner(['doc.md', '--yes', '--junit', 'out/results.xml'], { cwd: t.dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /JUnit results written to .*out\/results\.xml/);
    const { suite, cases } = read(t.read('out/results.xml'));
    assert.deepEqual(
      cases.map((c) => [c['@_classname'], c['@_name'], c.skipped?.['@_message'] ?? (c.failure ? 'FAILED' : 'ok')]),
      [
        ['1. First & "one"', 'run doc.md:6', 'ok'],
        ['1. First & "one"', 'run doc.md:10', 'only for target kind'],
        ['1. First & "one"', 'run doc.md:14', 'skip=true: shown, not run'],
        ['2. Second', 'run doc.md:20', 'FAILED'],
        ['2. Second', 'errors doc.md:26', 'not checked: errors none'],
        ['3. Third', 'run doc.md:30', 'not run: the run stopped before it'],
        ['3. Third', 'run always doc.md:34', 'ok'],
      ],
    );
    assert.deepEqual([suite['@_tests'], suite['@_failures'], suite['@_skipped']], ['7', '1', '4']);
    const failed = cases[3]!.failure!;
    assert.equal(failed['@_message'], 'block exited with code 3');
    assert.match(failed['#text'], /^command: printf .*\nexit 3\nexit code: 3\nstderr \(last lines\):\nred bad <thing>$/s);
    assert.doesNotMatch(failed['#text'], /\x1b/, 'no terminal codes in XML');
    assert.ok(Number(cases[0]!['@_time']) >= 0);
  } finally {
    t.cleanup();
  }
});

test('an interrupted run still writes the file, with the cut block failed and the rest skipped', async () => {
  const t = tempDir();
  try {
    t.write('doc.md', ['# Slow\n', fence('sh', 'echo started; sleep 30'), fence('sh', 'echo next'), '# Cleanup\n', fence('sh {always=true}', 'echo cleanup')].join('\n'));
    const r = startRunner(['doc.md', '--yes', '--junit', 'results.xml'], { cwd: t.dir });
    try {
      await r.waitFor(/started/);
      process.kill(r.pid, 'SIGINT');
      const out = await r.done;
      assert.equal(out.code, 130, out.stdout + out.stderr);
    } finally {
      r.kill();
    }
    const { cases } = read(t.read('results.xml'));
    const got = cases.map((c) => [c['@_name'], c.skipped?.['@_message'] ?? (c.failure ? `FAILED ${c.failure['@_message']}` : 'ok')]);
    assert.match(got[0]![1]!, /^FAILED killed by SIG(TERM|KILL)$/);
    assert.deepEqual(got.slice(1), [
      ['run doc.md:7', 'not run: the run was interrupted first'],
      ['run always doc.md:13', 'ok'],
    ]);
  } finally {
    t.cleanup();
  }
});

test('--junit needs a file name', async () => {
  const t = tempDir();
  try {
    t.write('doc.md', '# A\n');
    const r = await runRunner(['doc.md', '--junit', ''], { cwd: t.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--junit needs a file name/);
  } finally {
    t.cleanup();
  }
});
