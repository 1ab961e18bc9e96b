#!/usr/bin/env node
// Bundles every action (actions/<name>/index.ts → actions/<name>/dist/index.js) with one esbuild config.
// `--check` rebuilds into memory and fails when a committed bundle differs (stale dist).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

// Native addons cannot be bundled: workflows run `npm ci` first and Node resolves them from the
// repository's node_modules, above the action folder.
export const external = ['@duckdb/node-api', '@duckdb/node-bindings*', 'onnxruntime-node'];

const actions = existsSync(join(root, 'actions'))
  ? readdirSync(join(root, 'actions'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'index.ts')))
      .map((d) => d.name)
      .sort()
  : [];

// Source files find files beside them through `new URL(..., import.meta.url)` (trainer/, package.json).
// In a bundle import.meta.url is the bundle's own URL, so each source file's import.meta.url is
// rewritten to its original location relative to the bundle (the repository is checked out).
function sourceUrlPlugin(outdir) {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(outdir, args.path).split('\\').join('/');
        return {
          contents: text.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
          ),
          loader: 'ts',
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

let stale = [];
for (const name of actions) {
  const outfile = join(root, 'actions', name, 'dist', 'index.js');
  const result = await build({
    entryPoints: [join(root, 'actions', name, 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    write: false,
    outfile,
    legalComments: 'none',
    plugins: [sourceUrlPlugin(join(root, 'actions', name, 'dist'))],
    logLevel: 'warning',
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __fleetcastCreateRequire } from 'node:module';\nconst require = __fleetcastCreateRequire(import.meta.url);",
    },
  });
  const text = result.outputFiles[0].text;
  if (check) {
    const current = existsSync(outfile) ? readFileSync(outfile, 'utf8') : '';
    if (current !== text) stale.push(`actions/${name}/dist/index.js`);
  } else {
    mkdirSync(join(root, 'actions', name, 'dist'), { recursive: true });
    writeFileSync(outfile, text);
    process.stderr.write(`built actions/${name}/dist/index.js (${(text.length / 1024).toFixed(0)} KiB)\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(
    `stale action bundles (run npm run build:actions and commit):\n  ${stale.join('\n  ')}\n`,
  );
  process.exit(1);
}
if (check) process.stderr.write(`action bundles up to date (${actions.length})\n`);
