import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Import cycles make load order matter and hide layering mistakes; type-only imports count too.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every workspace package: its folder and its exports (specifier → file). */
function workspacePackages(): { dir: string; entries: Map<string, string> }[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = workspaces.flatMap((w) =>
    w.endsWith('/*')
      ? readdirSync(join(root, w.slice(0, -2)), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(root, w.slice(0, -2), d.name))
      : [join(root, w)],
  );
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        exports?: string | Record<string, string>;
      };
      const exports = typeof pkg.exports === 'string' ? { '.': pkg.exports } : (pkg.exports ?? {});
      const entries = new Map(
        Object.entries(exports).map(([sub, file]) => [
          sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`,
          resolve(dir, file),
        ]),
      );
      return { dir, entries };
    });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.split('/').includes('node_modules'))
    .map((f) => join(dir, f));
}

/** file → the files it imports: relative imports and other workspace packages' exports. */
function importGraph(): Map<string, string[]> {
  const packages = workspacePackages();
  const entries = new Map(packages.flatMap((p) => [...p.entries]));
  const files = packages.flatMap((p) => (existsSync(join(p.dir, 'src')) ? sourceFiles(join(p.dir, 'src')) : []));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.map(({ fileName: spec }) =>
      spec.startsWith('.') ? resolve(dirname(file), spec) : entries.get(spec),
    );
    graph.set(
      file,
      targets.filter((t): t is string => t !== undefined && known.has(t)),
    );
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('source imports', () => {
  it('form no cycle, within a package or across packages', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100); // the walk found the sources
    expect(cycles(graph).map((c) => c.map((f) => f.slice(root.length + 1)))).toEqual([]);
  });

  it('the check sees a cycle when there is one', () => {
    const graph = new Map([
      ['/r/a.ts', ['/r/b.ts']],
      ['/r/b.ts', ['/r/c.ts']],
      ['/r/c.ts', ['/r/a.ts']],
      ['/r/d.ts', ['/r/a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['/r/a.ts', '/r/b.ts', '/r/c.ts']]);
  });
});
