#!/usr/bin/env node
// First step of the composite actions (drift, train, verify): makes the native modules named in
// actions/<name>/package.json resolvable from the action's dist/index.js, which esbuild could not
// inline them into. In a Fleetcast checkout after `npm ci` they resolve from the repository's
// node_modules and nothing is installed; elsewhere (`uses: OWNER/fleetcast/actions/<name>@v1`)
// this runs `npm ci --omit=dev --ignore-scripts` in the action's folder from its pinned lockfile.
// `--ignore-scripts` skips onnxruntime-node's postinstall, which would download CUDA binaries
// (the repository's .npmrc skips it with onnxruntime-node-install=skip); the CPU binaries the
// validation needs ship in the package. Node built-ins only: nothing else is installed yet.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const MIN_NODE = 20;

function fail(message) {
  process.stdout.write(`::error::${message}\n`);
  process.exit(1);
}

const dir = resolve(process.argv[2] ?? process.cwd());
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_NODE) {
  fail(
    `Fleetcast needs Node.js ${MIN_NODE} or later on PATH, found ${process.version}; ` +
      'add actions/setup-node before this step',
  );
}
const names = Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {});
// Resolve as the bundle will: from dist/index.js, up through every enclosing node_modules.
const fromBundle = createRequire(join(dir, 'dist', 'index.js'));
const missing = names.filter((name) => {
  try {
    fromBundle.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length === 0) {
  process.stdout.write(`native modules already installed: ${names.join(', ')}\n`);
  process.exit(0);
}
process.stdout.write(`installing ${names.join(', ')} into ${dir} (npm ci, pinned by package-lock.json)\n`);
const npm = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
  cwd: dir,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
if (npm.error !== undefined)
  fail(`cannot run npm (${npm.error.message}); add actions/setup-node before this step`);
if (npm.status !== 0) fail(`npm ci failed in ${dir} (exit ${npm.status})`);
