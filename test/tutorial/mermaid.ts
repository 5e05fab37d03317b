// Rendering Mermaid diagrams the way a browser does, for the diagrams test: one page in Debian's
// headless Chromium loads mermaid's own browser bundle from node_modules by file path (nothing
// is downloaded), renders every diagram in turn and writes the outcome into the page, which
// --dump-dom hands back. The fences themselves come from the Markdown files, as doc.ts reads
// them.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { blocks, ROOT } from './doc.ts';

export interface Diagram {
  /** Where the fence opens, as FILE:LINE relative to the repository. */
  where: string;
  text: string;
}

export interface Rendered {
  where: string;
  /** Mermaid's parse or render error, or what was wrong with its output; absent when it drew. */
  error?: string;
  svgBytes: number;
}

/** Debian's Chromium, where .ci/run installs it; undefined when absent. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** The IIFE bundle that defines `globalThis.mermaid`, resolved as Node resolves the package. */
export function mermaidBundle(): string {
  const pkg = createRequire(import.meta.url).resolve('mermaid/package.json');
  const bundle = join(pkg, '..', 'dist', 'mermaid.min.js');
  if (!existsSync(bundle)) throw new Error(`${bundle}: mermaid's browser bundle is missing (run npm ci)`);
  return bundle;
}

/** Every ```mermaid fence of the given Markdown files (paths relative to the repository). */
export function diagramsIn(files: string[]): Diagram[] {
  return files.flatMap((file) =>
    blocks(readFileSync(join(ROOT, file), 'utf8'))
      .filter((b) => b.lang === 'mermaid')
      .map((b) => ({ where: `${file}:${b.line}`, text: b.text })),
  );
}

/** tutorial.md and every docs/*.md: where diagrams live now and where they are drafted. */
export function documentFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => relative(ROOT, join(ROOT, 'docs', f)));
  return ['tutorial.md', ...docs];
}

const RESULT_ID = 'mermaid-results';

/** The page: the bundle, the diagrams as JSON, and a script that renders them one by one. */
function page(bundle: string, diagrams: Diagram[]): string {
  // JSON inside <script>: escape `<` so a diagram's text cannot close the element.
  const data = JSON.stringify(diagrams.map((d) => d.text)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><script src="${pathToFileURL(bundle).href}"></script></head>
<body><div id="scratch"></div>
<script>
(async () => {
  const out = [];
  try {
    // strict: labels are sanitised as on GitHub; no error picture, so a failure throws.
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', suppressErrorRendering: true });
    const texts = ${data};
    for (let i = 0; i < texts.length; i++) {
      try {
        await mermaid.parse(texts[i]);
        const { svg } = await mermaid.render('diagram-' + i, texts[i], document.getElementById('scratch'));
        const error = !/^<svg[\\s>]/.test(svg) ? 'no <svg> in what mermaid returned'
          : /class="error-icon"|Syntax error in text/.test(svg) ? 'mermaid drew its error picture' : undefined;
        out.push({ error, svgBytes: svg.length });
      } catch (e) {
        out.push({ error: String((e && e.message) || e).split('\\n').slice(0, 6).join(' / '), svgBytes: 0 });
      }
    }
  } catch (e) {
    out.push({ fatal: String((e && e.message) || e) });
  }
  const pre = document.createElement('pre');
  pre.id = '${RESULT_ID}';
  // base64 of UTF-8 JSON: survives --dump-dom's HTML serialisation untouched.
  pre.textContent = btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(out))));
  document.body.appendChild(pre);
})();
</script></body></html>
`;
}

/**
 * Render every diagram in one Chromium run. Throws when the page itself did not get as far as
 * reporting (bundle not loaded, time budget spent); a diagram that fails is a result, not a throw.
 */
export function renderDiagrams(chromium: string, diagrams: Diagram[]): Rendered[] {
  const dir = mkdtempSync(join(tmpdir(), 'mermaid-'));
  try {
    const file = join(dir, 'diagrams.html');
    writeFileSync(file, page(mermaidBundle(), diagrams));
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
      // Let the page's promises run to the end before the DOM is dumped.
      '--virtual-time-budget=60000',
      '--dump-dom',
      pathToFileURL(file).href,
    ];
    const dom = execFileSync(chromium, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = new RegExp(`<pre id="${RESULT_ID}">([A-Za-z0-9+/=]*)</pre>`).exec(dom);
    if (!m) throw new Error(`chromium: the page did not report (mermaid's bundle not loaded, or the time budget ran out); ${dom.length} bytes of DOM`);
    const out = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as Array<{ error?: string; svgBytes: number; fatal?: string }>;
    const fatal = out.find((r) => r.fatal !== undefined);
    if (fatal) throw new Error(`mermaid: ${fatal.fatal}`);
    if (out.length !== diagrams.length) throw new Error(`chromium: ${out.length} results for ${diagrams.length} diagrams`);
    return out.map((r, i) => ({ where: diagrams[i]!.where, svgBytes: r.svgBytes, ...(r.error ? { error: r.error } : {}) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
