// `local-mesh apply -f FILE` and `delete -f FILE`: the file's splits to the proxy (like kubectl
// apply / delete), each in the history, and the document behind each split in force kept in
// applied.json, so a restarted proxy starts with it.

import type { ApplyAnswer, DeleteAnswer } from '../../apps/mesh/admin.ts';
import { readText } from '../../lib/read-text.ts';
import { describeSplit, type Split } from '../../lib/split.ts';
import { AdminRefusal, apply, deleteSplits, running } from './admin-client.ts';
import { appendHistory, saveApplied, type AppliedManifest, type Paths, type State } from './state.ts';

export async function applyOrDelete(p: Paths, verb: 'apply' | 'delete', file: string, out: (line: string) => void): Promise<number> {
  const text = readText(file, (m) => new Error(m));
  const s = running(p);
  let answer: Partial<ApplyAnswer & DeleteAnswer>;
  try {
    answer = verb === 'apply' ? await apply(s, text) : await deleteSplits(s, text);
  } catch (e) {
    if (e instanceof AdminRefusal) throw new Error(`${file}: ${e.message}`);
    throw e;
  }
  const applied = answer.applied ?? [];
  const deleted = answer.deleted ?? [];
  for (const a of applied) appendHistory(p, { event: 'applied', apex: a.apex, backends: a.backends });
  for (const a of deleted) appendHistory(p, { event: 'deleted', apex: a.apex });
  remember(p, s, applied, answer.manifests ?? [], deleted);
  for (const a of applied) out(`${a.kind}/${a.name ?? a.apex} configured: ${describeSplit(a)}`);
  for (const a of deleted) out(`${a.kind}/${a.name ?? a.apex} deleted: ${a.apex} goes to its own endpoints again`);
  return 0;
}

/** Keep the document behind each split in force (the proxy says which), so a restarted proxy can start with it. */
function remember(p: Paths, s: State, applied: Split[], manifests: string[], deleted: Split[]): void {
  s.applied ??= {};
  applied.forEach((a, i) => {
    const manifest = manifests[i];
    if (manifest !== undefined) s.applied![a.apex] = { kind: a.kind, ...(a.name ? { name: a.name } : {}), manifest } satisfies AppliedManifest;
  });
  for (const a of deleted) delete s.applied[a.apex];
  saveApplied(p, s.applied);
}
