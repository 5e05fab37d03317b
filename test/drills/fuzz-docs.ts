// Seeded random tutorial documents and stage YAML, for the runner's robustness drill. Built
// from the pieces real documents have (headings, prose, lists, quotes, <details>, fences with
// and without attributes, stage edits) mixed with the mistakes people make (bad attributes,
// unclosed fences, broken YAML, odd weights, odd target files, CRLF, tabs, stray bytes).

export type Rand = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;
const times = <T>(r: Rand, max: number, f: () => T): T[] => Array.from({ length: Math.floor(r() * (max + 1)) }, f);

const WORDS = ['Set up', 'the', 'mesh', 'Half and half', 'Cleanup', 'v2', 'ünïcödé', '`code`', '[link](#x)', '日本', '🙂', '--', '#', '{target=local}', 'Two server versions', ''];
const LANGS = ['sh', 'bash', 'shell', 'yaml', 'yml', 'text', 'console', '', 'SH', 'json', 'sh{', 'yaml{'];
const KEYS = ['target', 'background', 'name', 'ready', 'timeout', 'skip', 'always', 'allow-errors', 'file', 'bogus', 'Target', ''];
const VALUES = ['local', 'kind', 'mars', 'true', 'false', 'yes', '1s', '500ms', '2m', '0s', '-1s', 'soon', '"bg up"', '"("', '"unclosed', "'x'", 'bg', 'a b', 'split.yaml', 'missing.yaml', '../outside.yaml', 'sub/dir.yaml', '.', '', '=='];
const SAFE_SH = ['true', 'echo hello', ':', 'x=1; echo "$x"', 'printf "%s\\n" a b', 'echo $((1 + 2))', 'cd . && pwd > /dev/null', 'export A=1', 'echo "${A:-unset}"', '# only a comment'];
const WEIGHTS = ['0', '1', '5', '50', '95', '100', '-1', '1.5', 'abc', '1e400', '""', '~', '[1]', '{a: 1}', '007', '0x10'];

function attrs(r: Rand, lang: string): string {
  // Mostly what parses, so the cases get past the attributes into plans and stage edits.
  if (chance(r, 0.75)) return safeAttrs(r, lang);
  const roll = r();
  if (roll < 0.08) return pick(r, [' {target=local', ' target=local', ' {}', ' {=}', ' {a b c}', ' { }', ' {{target=local}}', ' {target=local}}']);
  const pairs = times(r, 3, () => {
    const k = pick(r, KEYS);
    return chance(r, 0.1) ? k : `${k}=${pick(r, VALUES)}`;
  });
  return ` {${pairs.join(' ')}}`;
}

function stageYaml(r: Rand): string {
  const backend = () => `    - service: ${pick(r, ['v1', 'v2', 'server-v1', '', '"v 1"', '[a]'])}\n      weight: ${pick(r, WEIGHTS)}`;
  return pick(r, [
    () => `spec:\n  backends:\n${times(r, 3, backend).join('\n')}`,
    () => `...\nkind: TrafficSplit\nspec:\n  backends:\n${times(r, 2, backend).join('\n')}`,
    () => `kind: ${pick(r, ['TrafficSplit', 'GRPCRoute', 'Service', 'Nope', ''])}\nmetadata:\n  name: ${pick(r, ['s', 'other', ''])}\nspec:\n  rules:\n    - backendRefs:\n        - name: v1\n          weight: ${pick(r, WEIGHTS)}`,
    () => 'spec: {backends: [}',
    () => 'spec:\n\tbackends: []',
    () => '- just\n- a list',
    () => 'a: &x 1\nb: *y',
    () => 'spec:\n  backends: !!binary AAAA',
    () => '',
    () => `spec:\n  service: ${pick(r, ['apex', 'v1', '""', 'null'])}`,
    () => 'a: 1\na: 2',
    () => '---\nspec: {}\n---\nspec: {}',
    () => `${'['.repeat(50)}${']'.repeat(50)}`,
    () => String.fromCharCode(...times(r, 20, () => Math.floor(r() * 128))),
    () => '? [a]\n: b',
    () => 'spec: !custom {a: 1}',
    () => 'spec:\n  backends: !!set {a, b}',
    () => `base: &b {weight: ${pick(r, WEIGHTS)}}\nspec:\n  backends:\n    - <<: *b\n      service: v1`,
    () => 'spec:\n  service: !!int abc',
    () => 'spec:\n  backends:\n    - service: v1\n      weight: !!timestamp 2001-12-14',
  ])();
}

/** What the stage target holds before the edit. */
export const TARGET = 'apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: s\nspec:\n  service: apex\n  backends:\n    - service: v1\n      weight: 100\n';

export function targetYaml(r: Rand): string {
  return pick(r, [
    TARGET,
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: apex\n---\napiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: s\nspec:\n  service: apex\n  backends:\n    - service: v1\n      weight: 100\n',
    'apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata:\n  name: r\nspec:\n  parentRefs: [{name: apex, kind: Service, group: core, port: 50051}]\n  rules:\n    - backendRefs: [{name: v1, port: 50051, weight: 100}]\n',
    '',
    'not: [yaml\n',
    '# only a comment\n',
    '---\n---\n',
    'kind: TrafficSplit\nspec: *nope\n',
    'kind: TrafficSplit\nspec: !!binary AAAA\n',
    'kind: TrafficSplit\nspec:\n  backends: !!omap [a: 1]\n',
  ]);
}

function body(r: Rand, lang: string, safe: boolean): string {
  if (/^ya?ml/.test(lang)) {
    if (safe && chance(r, 0.7)) return `spec:\n  backends:\n    - service: v1\n      weight: ${pick(r, ['0', '5', '50', '100'])}\n    - service: v2\n      weight: ${pick(r, ['1', '50', '95'])}`;
    return stageYaml(r);
  }
  if (safe || chance(r, 0.7)) return times(r, 3, () => pick(r, SAFE_SH)).join('\n') || 'true';
  return pick(r, ['```', '~~~', '\t\techo tab', 'echo "unterminated', '$(', 'exit 0', '']);
}

/** `messy`: the mistakes too (bad languages and attributes, unclosed fences). */
function fence(r: Rand, safe: boolean, messy = false): string {
  const marker = safe ? '```' : pick(r, ['```', '```', '```', '~~~', '````']);
  const lang = safe ? pick(r, ['sh', 'bash', 'text', 'yaml']) : messy ? pick(r, LANGS) : pick(r, ['sh', 'bash', 'shell', 'yaml', 'yml', 'text', '']);
  const info = safe || !messy ? safeAttrs(r, lang) : attrs(r, lang);
  const text = body(r, lang, safe);
  const close = messy && chance(r, 0.08) ? '' : `\n${marker}`;
  return `${marker}${lang}${info}\n${text}${close}`;
}

/** Attributes that parse, for documents that really run (no background, files only split.yaml). */
function safeAttrs(r: Rand, lang: string): string {
  if (lang === 'yaml' || lang === 'yml') return chance(r, 0.6) ? ' {file=split.yaml}' : '';
  if (lang !== 'sh' && lang !== 'bash' && lang !== 'shell') return '';
  return pick(r, ['', '', ' {target=local}', ' {target=kind}', ' {timeout=5s}', ' {skip=true}', ' {always=true}', ' {allow-errors=true}']);
}

function noise(r: Rand): string {
  return pick(r, [
    () => `${'#'.repeat(1 + Math.floor(r() * 7))} ${times(r, 4, () => pick(r, WORDS)).join(' ')}`,
    () => times(r, 3, () => pick(r, WORDS)).join(' '),
    () => '<details>\n<summary>More</summary>\n',
    () => '</details>',
    () => `- item\n\n  ${fence(r, false, chance(r, 0.3)).split('\n').join('\n  ')}`,
    () => `> ${pick(r, WORDS)}`,
    () => '',
    () => '    indented code',
    () => '| a | b |\n| - | - |\n| 1 | 2 |',
    () => '<!-- comment ```sh -->',
    () => '\u0000\u0007\uFFFD',
  ])();
}

/**
 * A random document. `safe` ones only hold blocks that succeed quickly when run; the others
 * are messy (mistakes in fences and attributes) one time in three.
 */
export function randomDocument(r: Rand, safe = false): string {
  const messy = !safe && chance(r, 0.35);
  const parts: string[] = [];
  if (!safe && chance(r, 0.15)) parts.push(`---\ntitle: ${pick(r, WORDS)}\n---`);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    parts.push(`${'#'.repeat(1 + Math.floor(r() * 3))} ${pick(r, WORDS) || 'Section'} ${i}`);
    if (!safe) parts.push(...times(r, 2, () => noise(r)));
    parts.push(...times(r, 3, () => fence(r, safe, messy && chance(r, 0.3))));
  }
  let text = parts.join('\n\n') + '\n';
  if (!safe && chance(r, 0.1)) text = text.replace(/\n/g, '\r\n');
  return text;
}

/** Extra command-line options, some of them wrong. */
export function randomArgs(r: Rand): string[] {
  if (chance(r, 0.6)) return [];
  return pick(r, [
    ['--target', 'kind'],
    ['--target', 'mars'],
    ['--only', pick(r, ['1', '2', '0', '99', 'section-1', 'nope'])],
    ['--from', pick(r, ['1', '3', 'x'])],
    ['--only', '1', '--from', '2'],
    ['--json'],
    ['--timeout', pick(r, ['1s', 'abc'])],
  ]);
}
