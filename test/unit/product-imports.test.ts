// The local cloud is its own package: no product module imports it except the two commands that
// start it (`opsflow up`, `opsflow localcloud`). Every module under src/ is parsed (not grepped), and
// every way of loading a module counts: import, export-from, import type, import(), require().
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');
const PACKAGE_DIR = path.join(ROOT, 'packages', 'localcloud');
const ALLOWED = ['src/devstack/up.ts', 'src/client/cli.ts'];

/** Every module specifier a source file loads, static or dynamic. */
function specifiersOf(fileName: string, text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      const loads =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require') ||
        (ts.isPropertyAccessExpression(callee) && callee.getText() === 'require.resolve');
      if (loads) found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS));
  return found;
}

/** Does this specifier, written in `fromFile`, reach the local cloud package? */
function reachesLocalCloud(fromFile: string, specifier: string): boolean {
  if (specifier === '@opsflow/localcloud' || specifier.startsWith('@opsflow/localcloud/')) return true;
  if (!specifier.startsWith('.')) return false;
  const target = path.resolve(path.dirname(fromFile), specifier);
  return target === PACKAGE_DIR || target.startsWith(PACKAGE_DIR + path.sep);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|cts|js)$/.test(entry.name) ? [full] : [];
  });
}

/** `file: specifier` for each load of the local cloud outside the allowed commands. */
function offendersIn(files: { file: string; text: string }[]): string[] {
  return files.flatMap(({ file, text }) => {
    const relative = path.relative(ROOT, file);
    if (ALLOWED.includes(relative)) return [];
    return specifiersOf(file, text)
      .filter((s) => reachesLocalCloud(file, s))
      .map((s) => `${relative}: ${s}`);
  });
}

test('the scanner sees every way a module can load the package', () => {
  const file = path.join(SRC, 'integrations', 'digitalocean', 'example.ts');
  const text = [
    "import { LocalCloud } from '@opsflow/localcloud';",
    "import type { LocalCloudEndpoint } from '@opsflow/localcloud';",
    "export { readEndpoint } from '../../../packages/localcloud/src/endpoint';",
    "const a = import('@opsflow/localcloud');",
    "const b = require('../../../packages/localcloud/src/hosts/sandbox');",
    "type C = typeof import('@opsflow/localcloud/dist/cli');",
    "import d = require('../../../packages/localcloud');",
    // Not the package: a product file whose name merely mentions it.
    "import { localCloudDir } from '../../devstack/localcloud-loading';",
  ].join('\n');
  expect(offendersIn([{ file, text }])).toEqual([
    'src/integrations/digitalocean/example.ts: @opsflow/localcloud',
    'src/integrations/digitalocean/example.ts: @opsflow/localcloud',
    'src/integrations/digitalocean/example.ts: ../../../packages/localcloud/src/endpoint',
    'src/integrations/digitalocean/example.ts: @opsflow/localcloud',
    'src/integrations/digitalocean/example.ts: ../../../packages/localcloud/src/hosts/sandbox',
    'src/integrations/digitalocean/example.ts: @opsflow/localcloud/dist/cli',
    'src/integrations/digitalocean/example.ts: ../../../packages/localcloud',
  ]);
});

test('no product module imports the local cloud package, except `opsflow up` and `opsflow localcloud`', () => {
  const files = sourceFiles(SRC).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
  expect(files.length).toBeGreaterThan(100);
  expect(offendersIn(files)).toEqual([]);
});

test('the two allowed commands load it lazily (a dynamic import), so loading them does not load it', () => {
  for (const relative of ALLOWED) {
    const file = path.join(ROOT, relative);
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const staticValueImports = source.statements.filter(
      (s) =>
        ts.isImportDeclaration(s) &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        reachesLocalCloud(file, s.moduleSpecifier.text) &&
        !s.importClause?.isTypeOnly,
    );
    expect({ file: relative, staticValueImports: staticValueImports.length }).toEqual({ file: relative, staticValueImports: 0 });
    expect(specifiersOf(file, text).filter((s) => reachesLocalCloud(file, s)).length).toBeGreaterThan(0);
  }
});
