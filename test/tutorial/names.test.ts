// Every name tutorial.md uses must exist and agree with deploy/, the Dockerfile and
// scripts/versions.sh: file paths, images and their build targets, the namespace,
// Deployments, Services, labels, containers, the TrafficSplit, the GRPCRoute and the
// ServiceProfile the extension derives from it. A renamed manifest or a typo in a command
// fails here, not halfway through a cluster run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { splitFromManifest } from '../../lib/split.ts';
import { parseDockerfile } from '../deploy/dockerfile.ts';
import { DOCKERFILE, readRepoFile } from '../deploy/image.ts';
import { loadManifests, type Obj } from '../deploy/load.ts';
import { blocks, commands, named, readTutorial, ROOT, runBlocks, type Block } from './doc.ts';

const NAMESPACE = 'link';
/** Namespaces the document may name besides its own: Linkerd's, and the SMI extension's (created
 * first, to annotate it before `linkerd smi install`). */
const SYSTEM_NAMESPACES = new Set(['linkerd', 'linkerd-smi']);
/** Deployments of those namespaces the kind blocks read logs from, with their containers:
 * linkerd/linkerd-smi v0.2.7 charts/linkerd-smi/templates/adaptor.yaml (Deployment and container
 * smi-adaptor, in the extension's namespace, linkerd-smi by default: cli/cmd/root.go). */
const SYSTEM_DEPLOYMENTS = new Map([['smi-adaptor', { namespace: 'linkerd-smi', containers: ['smi-adaptor'] }]]);

const md = readTutorial();
const all = blocks(md);
const kindBlocks = runBlocks(all, 'kind');
const localBlocks = runBlocks(all, 'local');
const everyRun = [...new Set([...kindBlocks, ...localBlocks])];
const objs = loadManifests();
const deployments = named(objs, 'Deployment');
const services = named(objs, 'Service');

const where = (b: Block) => `tutorial.md:${b.line}`;

/** [block, words] for every command of the given blocks. */
function eachCommand(bs: Block[]): Array<[Block, string[]]> {
  return bs.flatMap((b) => commands(b.text).map((w) => [b, w] as [Block, string[]]));
}

/** The value of a flag in its `--flag value`, `--flag=value` or `-f value` forms. */
function flagValues(words: string[], ...names: string[]): string[] {
  const out: string[] = [];
  words.forEach((w, i) => {
    for (const n of names) {
      if (w === n && words[i + 1] !== undefined) out.push(words[i + 1]!);
      else if (w.startsWith(`${n}=`)) out.push(w.slice(n.length + 1));
    }
  });
  return out;
}

test('tutorial.md has run blocks for both targets and shared stage edits', () => {
  assert.ok(kindBlocks.length >= 10, `only ${kindBlocks.length} kind blocks`);
  assert.ok(localBlocks.length >= 5, `only ${localBlocks.length} local blocks`);
  assert.ok(all.some((b) => b.file && b.target === undefined), 'no shared yaml stage edits');
});

test('every file path the document names exists', () => {
  const missing: string[] = [];
  // Paths in commands, in stage-edit attributes and in the prose (`deploy/...` in backticks).
  const re = /(?<![\w/.-])(?:\.\/)?((?:deploy|scripts|apps|lib|test)\/[\w./-]*[\w-]|Dockerfile)(?![\w/-])/g;
  md.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(re)) {
      const p = m[1]!.replace(/\.$/, '');
      // `deploy/NAME` alone is kubectl's Deployment reference; the next test checks those.
      if (/^deploy\/[\w-]+$/.test(p)) continue;
      if (!existsSync(join(ROOT, p))) missing.push(`tutorial.md:${i + 1}: ${p}`);
    }
  });
  for (const b of all) if (b.file && !existsSync(join(ROOT, b.file))) missing.push(`${where(b)}: file=${b.file}`);
  assert.deepEqual(missing, [], `paths that do not exist:\n${missing.join('\n')}`);
});

test('scripts the blocks run directly are executable', () => {
  for (const [b, w] of eachCommand(everyRun)) {
    const script = w.find((x) => /^(\.\/)?scripts\/[\w.-]+\.sh$/.test(x));
    if (script && w[0] !== 'source' && w[0] !== '.') {
      assert.ok(statSync(join(ROOT, script)).mode & 0o111, `${where(b)}: ${script} is not executable (chmod +x)`);
    }
  }
});

test('images: built from Dockerfile stages, loaded into kind, and the ones the manifests run', () => {
  const stages = new Set(parseDockerfile(readRepoFile(DOCKERFILE)).flatMap((s) => (s.name === null ? [] : [s.name])));
  const built = new Map<string, string>(); // image -> target
  const loaded = new Set<string>();
  const mentioned = new Set<string>();
  for (const [b, w] of eachCommand(kindBlocks)) {
    for (const x of w) for (const m of x.matchAll(/grpc-load-balancing\/[\w.-]+:[\w.-]+/g)) mentioned.add(m[0]);
    if (w[0] === 'docker' && w[1] === 'build') {
      const [tag] = flagValues(w, '-t', '--tag');
      const [target] = flagValues(w, '--target');
      const [file] = flagValues(w, '-f', '--file');
      assert.ok(tag && target, `${where(b)}: docker build needs -t and --target`);
      assert.ok(stages.has(target!), `${where(b)}: Dockerfile has no stage ${target} (stages: ${[...stages].join(', ')})`);
      assert.equal(file, 'Dockerfile', `${where(b)}: build from the project's Dockerfile`);
      // The image name says which program it holds; it must be that stage.
      assert.equal(tag!.split('/').pop()!.split(':')[0], target, `${where(b)}: image ${tag} built from stage ${target}`);
      built.set(tag!, target!);
    }
    if (w[0] === 'kind' && w[1] === 'load' && w[2] === 'docker-image') {
      for (const img of w.slice(3).filter((x) => !x.startsWith('-') && x.includes('/'))) loaded.add(img);
      assert.deepEqual(flagValues(w, '--name'), ['linkerd-smi'], `${where(b)}: kind load needs --name linkerd-smi`);
    }
  }
  assert.deepEqual([...built.keys()].sort(), ['grpc-load-balancing/client:1', 'grpc-load-balancing/server:1']);
  for (const img of mentioned) assert.ok(built.has(img), `the document uses ${img} but never builds it`);
  for (const img of built.keys()) assert.ok(loaded.has(img), `${img} is built but not loaded into kind`);
  for (const [name, d] of deployments) {
    for (const c of d.obj.spec.template.spec.containers as Obj[]) {
      assert.ok(built.has(c.image), `${d.file}: Deployment ${name} runs ${c.image}, which the tutorial does not build`);
      assert.equal(c.imagePullPolicy, 'IfNotPresent', `${d.file}: ${c.image} must not be pulled (it only exists in kind)`);
    }
  }
});

test(`one namespace, ${NAMESPACE}, for everything the demo applies`, () => {
  for (const m of objs) {
    const ns = m.obj.metadata?.namespace;
    assert.ok(ns === undefined || ns === NAMESPACE, `${m.file}: ${m.obj.kind} ${m.obj.metadata?.name} is in namespace ${ns}`);
  }
  let created = false;
  for (const [b, w] of eachCommand(kindBlocks)) {
    if (w[0] === 'kubectl' && w.includes('create') && w.includes('namespace')) {
      const ns = w[w.indexOf('namespace') + 1]!;
      assert.ok(ns === NAMESPACE || SYSTEM_NAMESPACES.has(ns), `${where(b)}: creates the namespace ${ns} (the demo uses ${NAMESPACE})`);
      if (ns === NAMESPACE) created = true;
    }
    for (const ns of flagValues(w, '-n', '--namespace')) {
      assert.ok(ns === NAMESPACE || SYSTEM_NAMESPACES.has(ns), `${where(b)}: namespace ${ns} (the demo uses ${NAMESPACE})`);
    }
    // Applying a manifest of the demo without -n would put it in whatever namespace is current.
    if (w[0] === 'kubectl' && (w[1] === 'apply' || w[1] === 'delete')) {
      const files = flagValues(w, '-f', '--filename').filter((f) => f.startsWith('deploy/'));
      if (files.length) assert.deepEqual(flagValues(w, '-n', '--namespace'), [NAMESPACE], `${where(b)}: ${w.join(' ')} needs -n ${NAMESPACE}`);
    }
    if (w[0] === 'kubectl' && w.includes('namespace') && w.includes('delete')) {
      assert.equal(w[w.indexOf('namespace') + 1], NAMESPACE, `${where(b)}: deletes the wrong namespace`);
    }
  }
  assert.ok(created, `no block creates the namespace ${NAMESPACE}`);
});

test('Deployments, labels and containers the commands name exist in deploy/', () => {
  const client = deployments.get('client');
  assert.ok(client, 'deploy/ has no Deployment client');
  for (const [b, w] of eachCommand(kindBlocks)) {
    if (w[0] !== 'kubectl') continue;
    const system = (name: string) => {
      const d = SYSTEM_DEPLOYMENTS.get(name);
      return d && flagValues(w, '-n', '--namespace').includes(d.namespace) ? d : undefined;
    };
    for (const x of w) {
      const m = /^(?:deploy|deployment|deployments)\/([a-z0-9-]+)$/.exec(x);
      if (m && system(m[1]!)) continue;
      if (m) assert.ok(deployments.has(m[1]!), `${where(b)}: no Deployment ${m[1]} in deploy/ (have ${[...deployments.keys()].join(', ')})`);
    }
    for (const sel of flagValues(w, '-l', '--selector')) {
      const [k, v] = sel.split('=');
      if (k === 'kubernetes.io/service-name') {
        assert.ok(services.has(v!), `${where(b)}: no Service ${v}`);
        continue;
      }
      if (w.includes('run')) continue; // labels of a pod the block creates itself
      const hits = [...deployments.values()].filter((d) => d.obj.spec.template.metadata.labels?.[k!] === v);
      assert.ok(hits.length, `${where(b)}: no Deployment's pods carry ${sel}`);
    }
    const labelsFlag = flagValues(w, '--labels');
    if (w.includes('run')) {
      for (const l of labelsFlag) {
        const [k, v] = l.split('=');
        const clash = [...deployments.values()].filter((d) => d.obj.spec.template.metadata.labels?.[k!] === v);
        assert.deepEqual(clash.map((d) => d.obj.metadata.name), [], `${where(b)}: the extra pod's label ${l} would be picked up with ${clash.map((d) => d.obj.metadata.name)}`);
      }
    }
    for (const c of flagValues(w, '-c', '--container')) {
      const target = w.find((x) => x.startsWith('deploy/'))?.slice('deploy/'.length);
      const sys = target ? system(target) : undefined;
      if (sys) {
        assert.ok(sys.containers.includes(c), `${where(b)}: Deployment ${target} has no container ${c} (has ${sys.containers.join(', ')})`);
        continue;
      }
      const d = target ? deployments.get(target) : undefined;
      assert.ok(d, `${where(b)}: -c ${c} without a deploy/NAME`);
      const names = (d!.obj.spec.template.spec.containers as Obj[]).map((x) => x.name);
      assert.ok(names.includes(c), `${where(b)}: Deployment ${target} has no container ${c} (has ${names.join(', ')})`);
    }
  }
  for (const [b, w] of eachCommand(localBlocks)) {
    if (w[0] === 'node' && w[1] === 'scripts/local-mesh.mjs' && w[2] === 'logs') {
      const name = w.slice(3).find((x) => !x.startsWith('-'));
      assert.ok(name && deployments.has(name), `${where(b)}: local-mesh logs ${name}: no such Deployment`);
    }
  }
});

test('the unmeshed client is the same program, pointed at the same address, without a proxy', () => {
  const clientEnv = Object.fromEntries(
    (deployments.get('client')!.obj.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value]),
  );
  const runs = eachCommand(kindBlocks).filter(([, w]) => w[0] === 'kubectl' && w[1] === 'run');
  assert.equal(runs.length, 1, 'expected one kubectl run (the unmeshed client)');
  const [b, w] = runs[0]!;
  assert.deepEqual(flagValues(w, '--image'), [deployments.get('client')!.obj.spec.template.spec.containers[0].image], `${where(b)}: image`);
  assert.ok(flagValues(w, '--env').includes(`SERVER_ADDR=${clientEnv.SERVER_ADDR}`), `${where(b)}: SERVER_ADDR must match client.yaml (${clientEnv.SERVER_ADDR})`);
  assert.ok(flagValues(w, '--annotations').includes('linkerd.io/inject=disabled'), `${where(b)}: the unmeshed client must not get a proxy`);
  assert.equal(deployments.get('client')!.obj.spec.template.metadata.annotations?.['linkerd.io/inject'], 'enabled', 'client.yaml must be meshed');
});

test('the split objects the commands name exist, and the ServiceProfile name follows from them', () => {
  const splits = named(objs, 'TrafficSplit');
  const routes = named(objs, 'GRPCRoute');
  assert.equal(splits.size, 1, 'expected one TrafficSplit in deploy/');
  const [tsName, ts] = [...splits][0]!;
  const apex = ts.obj.spec.service as string;
  assert.ok(services.has(apex), `TrafficSplit ${tsName}: no apex Service ${apex}`);
  const profile = `${apex}.${NAMESPACE}.svc.cluster.local`;
  let sawProfile = false;
  for (const [b, w] of eachCommand(kindBlocks)) {
    if (w[0] !== 'kubectl') continue;
    w.forEach((x, i) => {
      const kindName = /^(serviceprofile|trafficsplit|grpcroute)(?:\/(\S+))?$/.exec(x);
      if (!kindName) return;
      // kubectl get|delete|annotate KIND NAME, or KIND/NAME
      const name = kindName[2] ?? w.slice(i + 1).find((y) => !y.startsWith('-') && y !== NAMESPACE);
      if (!name) return;
      if (kindName[1] === 'serviceprofile') {
        assert.equal(name, profile, `${where(b)}: the extension names the profile ${profile}`);
        sawProfile = true;
      }
      if (kindName[1] === 'trafficsplit') assert.ok(splits.has(name), `${where(b)}: no TrafficSplit ${name}`);
      if (kindName[1] === 'grpcroute') assert.ok(routes.has(name), `${where(b)}: no GRPCRoute ${name}`);
    });
  }
  assert.ok(sawProfile, 'the document never looks at the ServiceProfile');
  for (const [name, r] of routes) {
    assert.equal(r.obj.spec.parentRefs[0].name, apex, `GRPCRoute ${name} must attach to the apex ${apex}`);
  }
  for (const [b, w] of eachCommand(localBlocks)) {
    if (w[1] === 'scripts/local-mesh.mjs' && w[2] === 'endpoints') assert.ok(services.has(w[3]!), `${where(b)}: no Service ${w[3]}`);
  }
});

test('the manifests shown in full are the committed ones', () => {
  // A yaml block without file= shows a manifest to read: it must be a verbatim part of a file
  // in deploy/, so that what the reader sees is what gets applied.
  const shown = all.filter((b) => ['yaml', 'yml'].includes(b.lang) && !b.file);
  assert.ok(shown.length >= 2, `expected the split and the route shown in full, found ${shown.length}`);
  const files = [...new Set(objs.map((m) => m.file))].map((f) => readFileSync(join(ROOT, f), 'utf8'));
  for (const b of shown) {
    assert.ok(files.some((f) => f.includes(b.text)), `${where(b)}: this yaml is not a verbatim part of any file in deploy/`);
  }
});

test('every stage edit lands in a document of its file and leaves a valid split', () => {
  const stages = all.filter((b) => b.file);
  assert.ok(stages.length >= 5, `expected the three SMI stages and two route stages, found ${stages.length}`);
  const known = new Set(services.keys());
  for (const b of stages) {
    assert.equal(b.target, undefined, `${where(b)}: stage edits are shared by both targets`);
    const edit = parse(b.text.replace(/^\.\.\.[ \t]*\n/, '')) as Obj;
    assert.ok(edit?.kind, `${where(b)}: name the kind in the fence, so the edit lands in the right document`);
    const target = objs.find((m) => m.file === b.file && m.obj.kind === edit.kind);
    assert.ok(target, `${where(b)}: ${b.file} has no ${edit.kind}`);
    const merged = merge(target!.obj, edit);
    const split = splitFromManifest(merged, known); // throws with the reason if the stage is invalid
    assert.ok(split.backends.length > 0);
  }
  // The SMI walk: 95/5, 50/50, then v2 alone, in that order.
  const smi = stages.filter((b) => b.file === 'deploy/linkerd/server-split.yaml').map((b) => {
    const target = objs.find((m) => m.file === b.file && m.obj.kind === 'TrafficSplit')!;
    return splitFromManifest(merge(target.obj, parse(b.text.replace(/^\.\.\.[ \t]*\n/, ''))), known).backends.map((x) => `${x.service}=${x.weight}`).join(',');
  });
  assert.deepEqual(smi, ['server-v1=95,server-v2=5', 'server-v1=100', 'server-v1=50,server-v2=50', 'server-v2=100']);
});

/** Mappings merge, sequences and scalars replace: what the runner does with a stage edit. */
function merge(base: unknown, edit: unknown): any {
  if (isMap(base) && isMap(edit)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(edit)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return edit;
}
function isMap(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

test('the versions table says what scripts/versions.sh pins', () => {
  const sh = readFileSync(join(ROOT, 'scripts/versions.sh'), 'utf8');
  const pins = Object.fromEntries([...sh.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const key of ['KIND_VERSION', 'KIND_NODE_IMAGE', 'GATEWAY_API_VERSION', 'LINKERD2_VERSION', 'LINKERD_SMI_VERSION']) {
    assert.ok(pins[key], `scripts/versions.sh does not export ${key}`);
  }
  // The table is an appendix; the section "Versions" near the top points at it.
  const heading = '\n## Appendix: versions pinned, and why\n';
  assert.ok(md.includes(heading), `tutorial.md has no section${heading.trimEnd()}`);
  const start = md.indexOf(heading);
  const next = md.indexOf('\n## ', start + 1);
  const section = md.slice(start, next < 0 ? undefined : next);
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| What'));
  const cell = (what: string) => {
    const row = rows.find((r) => r.startsWith(`| ${what} |`));
    assert.ok(row, `the Versions table has no row "${what}"`);
    return /`([^`]+)`/.exec(row!.split('|')[2]!)?.[1];
  };
  assert.equal(cell('kind'), pins.KIND_VERSION);
  // The digest is too wide for the table: the row has the tag, a line of its own the whole pin.
  assert.equal(cell('kind node image'), pins.KIND_NODE_IMAGE!.split('@')[0]);
  assert.ok(section.split('\n').includes(pins.KIND_NODE_IMAGE!), `the Versions appendix does not show ${pins.KIND_NODE_IMAGE} on a line of its own`);
  assert.equal(cell('Gateway API CRDs'), pins.GATEWAY_API_VERSION);
  assert.equal(cell('Linkerd'), pins.LINKERD2_VERSION);
  assert.equal(cell('linkerd-smi'), pins.LINKERD_SMI_VERSION);
  // The node image is pinned by digest, and it is the Kubernetes minor the table promises.
  assert.match(pins.KIND_NODE_IMAGE!, /^kindest\/node:v1\.35\.\d+@sha256:[0-9a-f]{64}$/);
});

test('blocks that use a pin or the linkerd CLI source scripts/versions.sh first', () => {
  for (const b of kindBlocks) {
    const uses = /\$\{?(KIND_NODE_IMAGE|KIND_VERSION|GATEWAY_API_VERSION|LINKERD2_VERSION|LINKERD_SMI_VERSION)\b|(^|\n)\s*(if .*)?linkerd |\| *linkerd |\$\(linkerd /.test(b.text);
    const sourced = /^source scripts\/versions\.sh$/m.test(b.text.split('\n')[0]!);
    if (uses) assert.ok(sourced, `${where(b)}: uses a pinned version or linkerd; start it with "source scripts/versions.sh" so it also runs on its own`);
  }
});

test('the local track ends with down in an always block, the kind track with the cluster gone', () => {
  const lastLocal = localBlocks.filter((b) => /local-mesh\.mjs down/.test(b.text));
  assert.equal(lastLocal.length, 1, 'one local block runs down');
  assert.match(lastLocal[0]!.info, /always=true/, `${where(lastLocal[0]!)}: down must run even when the run fails`);
  assert.equal(localBlocks.at(-1), lastLocal[0], 'down is the last local block');
  assert.match(kindBlocks.at(-1)!.text, /^kind delete cluster --name linkerd-smi$/m);
  // Background blocks follow the client's log on each target.
  for (const target of ['kind', 'local'] as const) {
    const bg = runBlocks(all, target).filter((b) => /background=true/.test(b.info));
    assert.equal(bg.length, 1, `${target}: one background block`);
    assert.match(bg[0]!.info, /ready="[^"]+"/, `${where(bg[0]!)}: a background block needs ready=`);
  }
});

test('the summary lines shown in README.md and tutorial.md are real ones', async () => {
  const { parseSummaryLine, formatSummary } = await import('../../lib/summary.ts');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const shown = [...readme.split('\n'), ...md.split('\n')].filter((l) => /^summary \d|^\{"ts"/.test(l));
  assert.ok(shown.length >= 3, 'expected example lines in README.md and tutorial.md');
  for (const line of shown) {
    const s = parseSummaryLine(line);
    assert.ok(s, `not a summary line: ${line}`);
    // Written back in its own format, it is the same line: the example is what the client prints.
    assert.equal(formatSummary(s!, line.startsWith('{') ? 'json' : 'text'), line);
  }
  // README's text and json examples describe the same interval.
  const [text, json] = readme.split('\n').filter((l) => /^summary \d|^\{"ts"/.test(l)).map((l) => parseSummaryLine(l));
  assert.deepEqual(text, json);
});
