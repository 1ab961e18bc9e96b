#!/usr/bin/env node
// Runs test/**/*.test.ts with node's test runner (TypeScript through tsx).
// Arguments filter test files by substring of their path. A test still running after 10 minutes
// fails (a hung test must not hold CI until its own limit).
// Test files run two at a time, or one per core where there are more: node's default (cores − 1)
// runs them one by one on a 2-core machine, while most of them wait on git, child processes and
// sockets rather than the CPU. FLEETCAST_TEST_CONCURRENCY overrides it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const files = findTests(join(root, 'test'))
  .sort()
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  process.stderr.write(`no test files match ${filters.join(' ')}\n`);
  process.exit(1);
}
const concurrency = Number(process.env.FLEETCAST_TEST_CONCURRENCY) || Math.max(2, availableParallelism());
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-timeout=600000',
    `--test-concurrency=${concurrency}`,
    ...files,
  ],
  {
    stdio: 'inherit',
    cwd: root,
    env: { FLEETCAST_LOG_LEVEL: 'warn', ...process.env },
  },
);
process.exit(result.status ?? 1);
