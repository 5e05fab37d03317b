// What a program needs at run time, read from its sources with the TypeScript parser: the
// source files reachable from its entry through relative imports, the npm packages they import
// (type-only imports are erased, so they do not count), the files they load next to themselves
// with `new URL('./x', import.meta.url)`, and the environment variables they read.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export interface ProgramNeeds {
  /** Source files, relative to the repository root. */
  files: string[];
  /** Package name -> the first file that imports it. */
  packages: Map<string, string>;
  /** Non-code files loaded relative to a module, relative to the repository root. */
  assets: string[];
  /** Environment variable names read with process.env or a config helper given `env`. */
  env: Set<string>;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);
}

function stringArg(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

function isProcessEnv(node: ts.Node): boolean {
  return ts.isPropertyAccessExpression(node) && node.name.text === 'env' && ts.isIdentifier(node.expression) && node.expression.text === 'process';
}

/** Walk `entries` (paths relative to `root`). Throws on a relative import that does not resolve. */
export function programNeeds(root: string, entries: string[]): ProgramNeeds {
  const needs: ProgramNeeds = { files: [], packages: new Map(), assets: [], env: new Set() };
  const queue = [...entries];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    needs.files.push(file);
    const abs = join(root, file);
    const source = ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.ES2022, true);

    const addSpecifier = (specifier: string) => {
      if (specifier.startsWith('.')) {
        const target = relative(root, join(dirname(abs), specifier));
        if (!existsSync(join(root, target))) throw new Error(`${file}: import ${JSON.stringify(specifier)} does not resolve`);
        queue.push(target);
      } else if (!isBuiltin(specifier)) {
        const name = packageName(specifier);
        if (!needs.packages.has(name)) needs.packages.set(name, file);
      }
    };

    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
        addSpecifier((node.moduleSpecifier as ts.StringLiteral).text);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
        addSpecifier((node.moduleSpecifier as ts.StringLiteral).text);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const s = stringArg(node.arguments[0]);
        if (s !== undefined) addSpecifier(s);
      } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
        // new URL('./demo/v1/greeter.proto', import.meta.url): a file read next to this module.
        const [what, base] = node.arguments ?? [];
        const s = stringArg(what);
        if (s !== undefined && base && base.getText(source) === 'import.meta.url' && s.startsWith('.')) {
          needs.assets.push(relative(root, join(dirname(abs), s)));
        }
      } else if (ts.isPropertyAccessExpression(node) && isProcessEnv(node.expression)) {
        needs.env.add(node.name.text);
      } else if (ts.isElementAccessExpression(node) && isProcessEnv(node.expression)) {
        const s = stringArg(node.argumentExpression);
        if (s !== undefined) needs.env.add(s);
      } else if (ts.isCallExpression(node)) {
        // The config helpers take (env, 'NAME', ...).
        const [first, second] = node.arguments;
        const s = stringArg(second);
        if (s !== undefined && first && (isProcessEnv(first) || (ts.isIdentifier(first) && first.text === 'env'))) needs.env.add(s);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return needs;
}
