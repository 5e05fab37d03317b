// The kind plan of one section run on its own: `--target kind --only half-and-half`, which
// must bring up everything a fresh machine lacks first (cluster, images, Linkerd, SMI,
// servers, split, client, traffic watcher), each such section marked "(brought up)", then the
// section itself. The same rendering as the whole kind plan (kind-plan.ts).
//
// On a prepared cluster these blocks find their work done: the cluster is reused, the Linkerd
// CLI and control plane are not installed again, `kind load docker-image` loads nothing when
// every node has the image ID already (kubernetes-sigs/kind v0.33.0-alpha,
// pkg/cmd/kind/load/docker-image/docker-image.go, "found to be already present on all
// nodes"), and the linkerd-smi install script skips the binary when the one on disk passes its
// checksum (linkerd/linkerd-smi gh-pages 2e1b40c, install). Two still reach the network every
// time: that script itself, and the Gateway API CRDs applied from their release URL.
//
//   node --import tsx test/tutorial/kind-plan-only.ts           print the plan
//   node --import tsx test/tutorial/kind-plan-only.ts --write   regenerate kind-plan-only.expected.txt

import { join } from 'node:path';
import { ROOT } from './doc.ts';
import { printOrWrite } from './golden.ts';
import { dryRun, renderPlan } from './kind-plan.ts';

export const ONLY = 'half-and-half';
export const EXPECTED_ONLY = join(ROOT, 'test/tutorial/kind-plan-only.expected.txt');
export const REGENERATE_ONLY = 'node --import tsx test/tutorial/kind-plan-only.ts --write';

export function kindPlanOnly(): string {
  return renderPlan(dryRun('kind', ['--only', ONLY, '--json']));
}

printOrWrite(import.meta.url, kindPlanOnly, EXPECTED_ONLY);
