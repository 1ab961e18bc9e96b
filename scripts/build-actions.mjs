#!/usr/bin/env node
// Bundles every action (actions/<name>/index.ts → actions/<name>/dist/index.js) with one esbuild config.
//
// Everything pure-JS is inlined, so a `node24` action's bundle runs on its own: no `npm ci`, no
// node_modules. Native addons (DuckDB, ONNX Runtime) cannot be inlined; an action whose bundle
// imports one must be a composite action: next to the bundle this script writes a package.json
// and a package-lock.json pinning exactly those modules (versions and integrity hashes taken from
// the repository's package-lock.json), which actions/install-native.mjs installs before the bundle
// runs. docs/gitops.md ("How the actions are packaged") explains the choice.
//
// `--check` rebuilds into memory and fails when a committed file differs (stale dist, stale
// package files). `--out DIR` writes DIR/<name>/{dist/index.js,package.json,package-lock.json}
// instead (the bundle is still built as if it lived in actions/<name>/dist), for trying bundles
// without touching the committed ones.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const outRoot = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
if (args.includes('--out') && !outRoot) {
  process.stderr.write('usage: build-actions.mjs [--check | --out DIR]\n');
  process.exit(2);
}

/** Native addons: left as imports, installed next to the bundle (see above). */
const NATIVE = ['@duckdb/node-api', 'onnxruntime-node'];
const external = [...NATIVE, '@duckdb/node-bindings*'];

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
/** The oldest Node the code supports (package.json engines), for bundles run by the job's `node`. */
const minNode = Number(/(\d+)/.exec(rootPackage.engines?.node ?? '>=20')[1]);

const actions = existsSync(join(root, 'actions'))
  ? readdirSync(join(root, 'actions'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'index.ts')))
      .map((d) => d.name)
      .sort()
  : [];

/**
 * The runtime action.yml declares (a JS action's `nodeNN`, or `composite`: the job's `node`) and the
 * esbuild target. Every bundle targets the oldest Node package.json supports, whatever runs it: a
 * composite bundle runs on whatever `node` the job has, and the tests run every bundle on the
 * development machine's Node, which may be older than the runner's node24.
 */
function runtimeOf(name) {
  const meta = parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8'));
  const using = String(meta?.runs?.using ?? '');
  const target = `node${minNode}`;
  if (using === 'composite') return { using, target };
  const match = /^node(\d+)$/.exec(using);
  if (match === null) throw new Error(`actions/${name}/action.yml: unsupported runs.using ${using}`);
  if (Number(match[1]) < minNode)
    throw new Error(
      `actions/${name}/action.yml: runs.using ${using} is older than package.json's engines (node ${minNode})`,
    );
  return { using, target };
}

// Source files find files beside them through `new URL(..., import.meta.url)` (trainer/, package.json).
// In a bundle import.meta.url is the bundle's own URL, so each source file's import.meta.url is
// rewritten to its original location relative to the bundle. The runner downloads the whole
// repository for `uses: OWNER/fleetcast/actions/<name>@ref`, so those files are there.
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

/**
 * The part of the repository's lockfile that installs `names`: each package's entry (version,
 * integrity, os/cpu/libc of the prebuilt binaries) and everything it depends on, at the same
 * paths, so `npm ci` in the action's folder installs exactly what the repository tests with.
 */
function lockFor(lock, name, names) {
  const packages = {};
  const dependencies = {};
  const visit = (from, dep, optional) => {
    // Node's lookup: <from>/node_modules/<dep>, then each enclosing node_modules folder.
    for (
      let base = from;
      ;
      base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : ''
    ) {
      const path = `${base === '' ? '' : `${base}/`}node_modules/${dep}`;
      const entry = lock.packages[path];
      if (entry !== undefined) {
        if (packages[path] === undefined) {
          const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry;
          packages[path] = kept;
          for (const d of Object.keys(entry.dependencies ?? {})) visit(path, d, false);
          for (const d of Object.keys(entry.optionalDependencies ?? {})) visit(path, d, true);
        }
        return;
      }
      if (base === '') break;
    }
    if (!optional)
      throw new Error(`package-lock.json has no entry for ${dep} (needed from ${from || 'the root'})`);
  };
  for (const dep of names) {
    const entry = lock.packages[`node_modules/${dep}`];
    if (entry === undefined)
      throw new Error(`package-lock.json has no entry for ${dep}: add it to package.json`);
    dependencies[dep] = entry.version;
    visit('', dep, false);
  }
  const sorted = Object.fromEntries(
    Object.keys(packages)
      .sort()
      .map((k) => [k, packages[k]]),
  );
  return {
    name,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name, license: rootPackage.license, dependencies }, ...sorted },
  };
}

function packageFiles(name, natives) {
  const pkgName = `fleetcast-action-${name}`;
  const lock = lockFor(rootLock, pkgName, natives);
  const manifest = {
    name: pkgName,
    private: true,
    description: `Native modules of actions/${name}/dist/index.js, installed by actions/install-native.mjs (generated by scripts/build-actions.mjs)`,
    license: rootPackage.license,
    // The bundle is ESM; this file is the nearest package.json to it.
    type: 'module',
    engines: rootPackage.engines,
    dependencies: lock.packages[''].dependencies,
  };
  return {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'package-lock.json': `${JSON.stringify(lock, null, 2)}\n`,
  };
}

const problems = [];
const stale = [];
const summary = [];
for (const name of actions) {
  const dir = join(root, 'actions', name);
  const runtime = runtimeOf(name);
  const result = await build({
    entryPoints: [join(dir, 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: runtime.target,
    external,
    write: false,
    outfile: join(dir, 'dist', 'index.js'),
    metafile: true,
    legalComments: 'none',
    plugins: [sourceUrlPlugin(join(dir, 'dist'))],
    logLevel: 'warning',
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __fleetcastCreateRequire } from 'node:module';\nconst require = __fleetcastCreateRequire(import.meta.url);",
    },
  });
  const imported = new Set(
    Object.values(result.metafile.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external).map((i) => i.path),
    ),
  );
  const natives = NATIVE.filter((n) => imported.has(n));
  if (runtime.using !== 'composite' && natives.length > 0) {
    problems.push(
      `actions/${name}: the bundle imports ${natives.join(', ')}, which a ${runtime.using} action cannot install; ` +
        'make it a composite action that runs install-native.mjs (see actions/drift/action.yml)',
    );
  }
  if (runtime.using === 'composite' && natives.length === 0) {
    process.stderr.write(
      `note: actions/${name} imports no native module any more; it can be a node24 action again\n`,
    );
  }
  const files = {
    'dist/index.js': result.outputFiles[0].text,
    ...(runtime.using === 'composite' ? packageFiles(name, natives) : {}),
  };
  // package files of an action that no longer needs them are stale too
  const obsolete = runtime.using === 'composite' ? [] : ['package.json', 'package-lock.json'];
  if (check) {
    for (const [file, text] of Object.entries(files)) {
      const path = join(dir, file);
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(`actions/${name}/${file}`);
    }
    for (const file of obsolete)
      if (existsSync(join(dir, file))) stale.push(`actions/${name}/${file} (remove it)`);
  } else {
    const target = outRoot === undefined ? dir : join(outRoot, name);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      writeFileSync(join(target, file), text);
    }
    if (outRoot === undefined) for (const file of obsolete) rmSync(join(dir, file), { force: true });
  }
  const kib = (files['dist/index.js'].length / 1024).toFixed(0);
  summary.push(
    `actions/${name}: ${runtime.using}, target ${runtime.target}, ${kib} KiB` +
      (natives.length > 0 ? `, native: ${natives.join(', ')}` : ', runs standalone'),
  );
}
if (!check) process.stderr.write(`${summary.join('\n')}\n`);
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
if (stale.length > 0) {
  process.stderr.write(
    `stale action bundles (run npm run build:actions and commit):\n  ${stale.join('\n  ')}\n`,
  );
  process.exit(1);
}
if (check) process.stderr.write(`action bundles up to date (${actions.length})\n`);
