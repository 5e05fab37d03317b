import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../lib/config.ts';
import { EXIT, exitCodeOf, UsageError, UserError } from '../lib/errors.ts';
import { EXIT as RUNNER_EXIT, UsageError as RunnerUsageError } from '../runner/errors.ts';

test('one family of user-facing errors: each carries its exit code, anything else exits 1', () => {
  assert.equal(exitCodeOf(new UserError('server-v9: no such deployment')), EXIT.failed);
  assert.equal(exitCodeOf(new UsageError('unknown verb "upp"')), EXIT.usage);
  assert.equal(exitCodeOf(new ConfigError('RATE must be a number, got "x"')), EXIT.usage);
  assert.ok(new ConfigError('x') instanceof UsageError, 'a bad setting is a usage error');
  assert.equal(exitCodeOf(new Error('a bug')), EXIT.failed);
  assert.equal(exitCodeOf('not even an Error'), EXIT.failed);
});

test("the shared UsageError keeps runner/errors.ts's contract", () => {
  assert.deepEqual(EXIT, RUNNER_EXIT);
  const ours = new UsageError('x');
  const runners = new RunnerUsageError('x');
  assert.equal(ours.name, runners.name);
  assert.equal(ours.exitCode, runners.exitCode);
});
