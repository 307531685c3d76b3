// Bundles the CLI into dist/: a small entry plus one chunk per command, loaded when that command runs.
// `npm ci` runs it (the root `prepare` script), and so do `npm test`, `npm start` and `npm run tether`.
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, 'dist');

/**
 * Dependencies load from node_modules at run time; bundled are the workspace's own packages (TypeScript) and
 * zod: an ES module of about 100 files, which every command that reads its settings loads (one chunk costs a
 * short command about 50 ms less CPU than resolving and linking them).
 */
const bundled = /^(@tether\/|zod(\/|$))/;
const dependenciesStayExternal = {
  name: 'dependencies-stay-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => (bundled.test(a.path) ? undefined : { external: true }));
  },
};

/** `import.meta.url` keeps meaning the source file, for code that reads files beside it (the gateway's pages). */
const sourceFileUrls = {
  name: 'source-file-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (a) => ({
      contents: (await readFile(a.path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(a.path).href),
      ),
      loader: 'ts',
    }));
  },
};

export async function buildCli() {
  const result = await build({
    entryPoints: [join(here, 'src/main.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [dependenciesStayExternal, sourceFileUrls],
  });
  const portable = await buildPortable();
  // Chunks of earlier builds have other hashes: remove them so dist/ holds one build.
  const current = new Set(
    [...Object.keys(result.metafile.outputs), ...Object.keys(portable.metafile.outputs)].map((p) => resolve(p)),
  );
  for (const f of await readdir(outdir, { recursive: true, withFileTypes: true }))
    if (f.isFile() && !current.has(join(f.parentPath, f.name))) await rm(join(f.parentPath, f.name));
}

/**
 * dist/tether.mjs: `tether attach` with everything it needs (ws included) in one file, for machines with only Node;
 * the gateway serves it at /tether.mjs. ws's CommonJS calls require(), which an ES module lacks: the banner makes one.
 */
function buildPortable() {
  return build({
    entryPoints: [join(here, 'src/portable.ts')],
    outfile: join(outdir, 'tether.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    // ws's optional native speed-ups: it carries on without them.
    external: ['bufferutil', 'utf-8-validate'],
    banner: {
      js: "import { createRequire as tetherRequire } from 'node:module'; const require = tetherRequire(import.meta.url);",
    },
  });
}

/** vitest globalSetup: tests spawn the bin, so they never run a bundle older than the sources. */
export async function setup() {
  await buildCli();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildCli();
