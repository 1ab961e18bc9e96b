#!/usr/bin/env node
// `npm run demo`: installs what the demo needs (idempotent), then runs `fleetcast demo`.
// Arguments after `--` go to the demo: `npm run demo -- --servers 60 --keep-serving`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const setup = spawnSync(process.execPath, ['scripts/ensure-deps.mjs'], { stdio: 'inherit', cwd: root });
if (setup.status !== 0) process.exit(setup.status ?? 1);
const demo = spawnSync(process.execPath, ['bin/fleetcast.js', 'demo', ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(demo.status ?? 1);
