#!/usr/bin/env node
// `npm test`: installs what the suite needs, then typecheck, lint, stale-bundle check and every test.
// Extra arguments are passed to the test runner as file filters: `npm test -- drift`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function step(name, cmd, args) {
  const started = Date.now();
  process.stderr.write(`\n▶ ${name}\n`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stderr.write(`✖ ${name} failed after ${seconds}s\n`);
    process.exit(result.status ?? 1);
  }
  process.stderr.write(`✔ ${name} (${seconds}s)\n`);
}

step('install dependencies', process.execPath, ['scripts/ensure-deps.mjs', '--chromium']);
if (filters.length === 0) {
  step('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  step('lint', 'npx', ['eslint', '.']);
  step('layers (docs/architecture.md)', 'npx', [
    'depcruise',
    'src',
    'actions',
    '--config',
    '.dependency-cruiser.cjs',
  ]);
  step('format', 'npx', ['prettier', '--check', '.']);
  step('action bundles are up to date', process.execPath, ['scripts/build-actions.mjs', '--check']);
}
step('tests', process.execPath, ['scripts/run-tests.mjs', ...filters]);
