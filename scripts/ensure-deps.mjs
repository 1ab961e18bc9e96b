#!/usr/bin/env node
// Installs what fleetcast needs, idempotently: npm packages (npm ci when package-lock.json changed),
// Debian's python3-torch for the trainer, python3-sklearn and python3-statsmodels for its peer
// forecasters, Debian's prometheus for the Prometheus source tests and, with --chromium, Debian's
// chromium for the dashboard test.
// Plain JavaScript with no dependencies, so it runs on a fresh clone before `npm ci`. Which
// packages, and how apt-get runs (root, `sudo -n`, or a message saying what to install), is in
// scripts/system-deps.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aptInstall, asRoot, chromiumPlan, osId, PACKAGES } from './system-deps.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const wantChromium = process.argv.includes('--chromium');

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
  }
}

function ensureNodeModules() {
  const lock = readFileSync(new URL('../package-lock.json', import.meta.url));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = new URL('../node_modules/.fleetcast-lock.sha256', import.meta.url);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) return;
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, `${digest}\n`);
}

function canRoot() {
  return asRoot() !== null;
}

export function pythonInterpreter() {
  if (process.env.FLEETCAST_PYTHON) return process.env.FLEETCAST_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function torchImports(python) {
  return spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

function ensureTorch() {
  const python = pythonInterpreter();
  if (torchImports(python)) return;
  if (process.env.FLEETCAST_PYTHON) {
    throw new Error(
      `FLEETCAST_PYTHON=${python} cannot import torch and numpy; install them for that interpreter`,
    );
  }
  aptInstall(PACKAGES.torch, `${python} cannot import torch`);
  if (!torchImports(python))
    throw new Error(`${python} still cannot import torch after installing python3-torch`);
}

/**
 * The trainer's peer forecasters (docs/peers.md) use Debian's scikit-learn and statsmodels. They are
 * optional: without root the peer tests skip with an install hint instead of failing the suite.
 */
function ensurePeerLibraries() {
  const python = pythonInterpreter();
  const imports = () =>
    spawnSync(python, ['-c', 'import sklearn, statsmodels'], { stdio: 'ignore' }).status === 0;
  if (imports()) return;
  if (!canRoot() || process.env.FLEETCAST_PYTHON) {
    log(`${python} cannot import sklearn and statsmodels: the peer forecaster tests will skip`);
    return;
  }
  aptInstall(PACKAGES.peers, `${python} cannot import sklearn, statsmodels`);
}

/**
 * The Prometheus source's tests and benchmark run a real Prometheus (Debian's prometheus package,
 * which brings promtool). Optional like the peer libraries: without root those tests skip and say why.
 */
function ensurePrometheus() {
  const binaries = ['/usr/bin/prometheus', '/usr/bin/promtool'];
  if (binaries.every((bin) => existsSync(bin))) return;
  if (!canRoot()) {
    log(
      'prometheus or promtool not found: the Prometheus source tests will skip (apt-get install prometheus)',
    );
    return;
  }
  aptInstall(PACKAGES.prometheus, 'prometheus and promtool not found');
}

function ensureChromium() {
  const plan = chromiumPlan({ env: process.env, exists: existsSync, osId: osId() });
  if (plan.error !== null) throw new Error(plan.error);
  if (plan.install !== null) aptInstall(plan.install, `${plan.path} not found`);
}

try {
  ensureNodeModules();
  ensureTorch();
  ensurePeerLibraries();
  ensurePrometheus();
  if (wantChromium) ensureChromium();
} catch (error) {
  process.stderr.write(`[setup] error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
