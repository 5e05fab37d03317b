// `--target kind --only half-and-half` on a machine that has run nothing: the runner must plan
// every prerequisite first, from the cluster to the traffic watcher, then the section. The
// plan is pure (a dry run looks at nothing on the machine), so the golden file is what a fresh
// machine gets; kind-plan-only.ts regenerates it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertGolden, assertInOrder } from './golden.ts';
import { EXPECTED_ONLY, kindPlanOnly, ONLY, REGENERATE_ONLY } from './kind-plan-only.ts';

test(`the kind plan of --only ${ONLY} matches the checked-in plan`, () => {
  assertGolden(kindPlanOnly(), EXPECTED_ONLY, REGENERATE_ONLY);
});

test(`--only ${ONLY} on kind brings up cluster, images, Linkerd, SMI, servers, split, client, in that order, then the section`, () => {
  const plan = readFileSync(EXPECTED_ONLY, 'utf8');
  const steps = [
    'scripts/check-prereqs.sh kind',
    'kind create cluster --name linkerd-smi',
    'kind load docker-image',
    'run.linkerd.io/install-edge',
    'gateway-api/releases/download',
    'linkerd install --crds',
    'linkerd smi install',
    'deploy/linkerd/server-v1.yaml',
    'deploy/linkerd/server-split.yaml',
    'deploy/linkerd/client.yaml',
    'kubectl logs -f -n link deploy/client',
    'weight: 50',
  ];
  assertInOrder(plan, steps);
  const headers = plan.split('\n').filter((l) => l.startsWith('#'));
  assert.match(headers.at(-1)!, new RegExp(`#${ONLY}$`), 'the chosen section comes last, not marked as brought up');
  assert.deepEqual(
    headers.slice(0, -1).filter((h) => !h.endsWith('(brought up)')),
    [],
    'every section before it is marked as brought up',
  );
  // Not what the section needs: the unmeshed client, the other stages, the cleanup.
  assert.doesNotMatch(plan, /client-direct|weight: 95|delete namespace|local-mesh|target=local/);
});
