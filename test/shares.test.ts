import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialBound, checkShares, expectedByVersion, shareLabel, UnmappedBackendError } from '../lib/shares.ts';

const versionsOf = new Map([['server-v1', ['v1']], ['server-v2', ['v2']], ['server', ['v1', 'v2']]]);

test('expected shares follow weights, through the versions each service reaches', () => {
  const e = expectedByVersion({ backends: [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }] }, versionsOf);
  assert.deepEqual([...e], [['v1', 0.95], ['v2', 0.05]]);
  const apex = expectedByVersion({ backends: [{ service: 'server', weight: 1 }] }, versionsOf);
  assert.deepEqual([...apex], [['v1', 0.5], ['v2', 0.5]]);
  assert.throws(() => expectedByVersion({ backends: [{ service: 'nope', weight: 1 }] }, versionsOf), (e: unknown) => e instanceof UnmappedBackendError && e.service === 'nope' && /nope reaches no server version/.test(e.message));
});

test('0 and 1 are exact; other shares get a binomial bound', () => {
  const all = new Map([['v1', 1], ['v2', 0]]);
  assert.equal(checkShares(all, { v1: 600 }).ok, true);
  const one = checkShares(all, { v1: 599, v2: 1 });
  assert.equal(one.ok, false);
  assert.match(one.reason!, /v1 got 599 of 600 calls, expected all/);
  const split = new Map([['v1', 0.95], ['v2', 0.05]]);
  assert.equal(checkShares(split, { v1: 569, v2: 31 }).ok, true);
  const far = checkShares(split, { v1: 480, v2: 120 });
  assert.equal(far.ok, false);
  assert.match(far.reason!, /v1 share 80\.0% is outside 95\.0% ± 3\.6% for n=600/);
  assert.equal(shareLabel(far.observed, ['v1', 'v2']), '80/20');
  assert.equal(checkShares(split, {}).reason, 'no calls observed');
  assert.ok(binomialBound(0.5, 100) > binomialBound(0.5, 10_000));
});
