// The kind track cannot run here (no cluster), so its commands are held still instead: the
// runner's dry run of tutorial.md on kind must equal the checked-in plan. Changing a command
// without updating kind-plan.expected.txt fails this test, so every change to what a reader
// would run on a cluster shows up in review as a change to that file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertGolden, assertInOrder } from './golden.ts';
import { dryRun, EXPECTED, kindPlan, REGENERATE } from './kind-plan.ts';

test('the kind dry run matches the checked-in plan', () => {
  assertGolden(kindPlan(), EXPECTED, REGENERATE);
});

test('the plan has every kind step and no local one', () => {
  const plan = readFileSync(EXPECTED, 'utf8');
  assert.doesNotMatch(plan, /target=local|local-mesh/);
  // The order a cluster needs: cluster, images, CLI, Gateway API, Linkerd, SMI, demo, shift, route, cleanup.
  const steps = [
    'kind create cluster --name linkerd-smi',
    'kind load docker-image',
    'run.linkerd.io/install-edge',
    'gateway-api/releases/download',
    // Re-runnable: linkerd install --crds exits 1 once linkerd-config exists.
    'kubectl get configmap -n linkerd linkerd-config',
    'linkerd upgrade --crds',
    'linkerd install --crds',
    'linkerd check',
    // linkerd-smi v0.2.7's check does not know native sidecars: its namespace opts out first.
    'config.linkerd.io/proxy-enable-native-sidecar=false',
    'linkerd smi install',
    'deploy/linkerd/server-v1.yaml',
    'deploy/linkerd/server-split.yaml',
    'kubectl run client-direct',
    'deploy/linkerd/client.yaml',
    'kubectl logs -f -n link deploy/client',
    'weight: 95',
    'weight: 50',
    'deploy/gamma/server-route.yaml',
    'kubectl delete serviceprofile',
    // The client's connection keeps profile routing: a new pod picks the GRPCRoute up.
    'kubectl rollout restart -n link deploy/client',
    'kubectl wait -n link --for=delete',
    'delete namespace link',
    'kind delete cluster --name linkerd-smi',
  ];
  assertInOrder(plan, steps, 'the kind plan');
});

test("the runner's human dry run prints every command of the plan, in order", () => {
  const text = dryRun('kind', []);
  const commands = JSON.parse(dryRun('kind'))
    .flatMap((s: { blocks: Array<{ kind: string; text: string }> }) => s.blocks)
    .filter((b: { kind: string }) => b.kind === 'run' || b.kind === 'background')
    .flatMap((b: { text: string }) => b.text.split('\n'))
    .map((l: string) => l.trim())
    .filter(Boolean);
  let from = 0;
  for (const c of commands) {
    const at = text.indexOf(c, from);
    assert.ok(at >= 0, `the dry run does not print ${JSON.stringify(c)} (after offset ${from})`);
    from = at + c.length;
  }
});
