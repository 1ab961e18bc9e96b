// The system packages the test suite and the demo need, and how they are installed: apt-get as
// root, through password-less `sudo -n` (GitHub-hosted runners run jobs as the `runner` user), or
// not at all, with a message that says what to install and how. Plain JavaScript with no
// dependencies (scripts/ensure-deps.mjs runs before `npm ci`); the choices are pure functions so
// that test/scripts/system-deps.test.ts checks them without installing anything.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Debian/Ubuntu package names, by what needs them. .github/workflows/ci.yml installs the same. */
export const PACKAGES = {
  /** the trainer (trainer/) */
  torch: ['python3-torch'],
  /** the peer forecasters (trainer/fleetcast_trainer/peers/) */
  peers: ['python3-sklearn', 'python3-statsmodels'],
  /** the Prometheus source tests: prometheus and promtool */
  prometheus: ['prometheus'],
  /** the dashboard test, on Debian */
  chromium: ['chromium'],
};

/**
 * How to run apt-get as root, from what the machine says: `[]` as uid 0, `['sudo', '-n', '-E']`
 * where password-less sudo works, null where neither (or there is no apt-get).
 */
export function rootPrefixFor({ hasAptGet, uid, sudoWorks }) {
  if (!hasAptGet) return null;
  if (uid === 0) return [];
  return sudoWorks() ? ['sudo', '-n', '-E'] : null;
}

/** The commands that install `packages` with `prefix` (pure). */
export function aptCommands(prefix, packages) {
  const as = (args) =>
    prefix.length === 0 ? ['apt-get', args] : [prefix[0], [...prefix.slice(1), 'apt-get', ...args]];
  return [as(['update', '-qq']), as(['install', '-y', '-qq', '--no-install-recommends', ...packages])];
}

/** What to tell someone who can install nothing: which packages, and the commands that do it. */
export function noRootMessage(packages, why, { hasAptGet }) {
  const list = packages.join(' ');
  if (!hasAptGet)
    return `${why}: install ${list} with your system's package manager (no apt-get here), or point FLEETCAST_PYTHON / FLEETCAST_CHROMIUM at what you have`;
  return (
    `${why}: this needs the packages ${list}, and installing them needs root or password-less sudo, which this user does not have. ` +
    `Install them once as root (sudo apt-get update && sudo apt-get install -y --no-install-recommends ${list}) ` +
    `and rerun; in a CI job, add that command as a step before npm test`
  );
}

/**
 * The Chromium the dashboard test drives (FLEETCAST_CHROMIUM, else Debian's /usr/bin/chromium), and
 * what to install for it. A path named in FLEETCAST_CHROMIUM is never "fixed" by installing
 * something else; Ubuntu's chromium package is only a stub that installs a snap.
 */
export function chromiumPlan({ env, exists, osId }) {
  const path = env.FLEETCAST_CHROMIUM ?? '/usr/bin/chromium';
  if (exists(path)) return { path, install: null, error: null };
  if (env.FLEETCAST_CHROMIUM !== undefined)
    return {
      path,
      install: null,
      error: `FLEETCAST_CHROMIUM=${path} does not exist: point it at a Chromium or Chrome binary`,
    };
  if (osId === 'ubuntu')
    return {
      path,
      install: null,
      error:
        `${path} not found, and Ubuntu's chromium package installs a snap: set FLEETCAST_CHROMIUM to a ` +
        'Chrome or Chromium binary (GitHub-hosted Ubuntu runners have /usr/bin/google-chrome)',
    };
  return { path, install: PACKAGES.chromium, error: null };
}

/** ID= of /etc/os-release (debian, ubuntu, …), or undefined. */
export function osId(text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '') {
  return /^ID="?([^"\n]*)"?$/m.exec(text)?.[1];
}

let prefix;
/** The root prefix of this process (probed once). */
export function asRoot() {
  if (prefix === undefined)
    prefix = rootPrefixFor({
      hasAptGet: existsSync('/usr/bin/apt-get'),
      uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
      sudoWorks: () => spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0,
    });
  return prefix;
}

let updated = false;
/** Installs `packages` with apt-get, or throws noRootMessage when this process cannot. */
export function aptInstall(packages, why, log = (line) => process.stderr.write(`[setup] ${line}\n`)) {
  const root = asRoot();
  if (root === null)
    throw new Error(noRootMessage(packages, why, { hasAptGet: existsSync('/usr/bin/apt-get') }));
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [update, install] = aptCommands(root, packages);
  for (const [cmd, args] of updated ? [install] : [update, install]) {
    log([cmd, ...args].join(' '));
    const result = spawnSync(cmd, args, { stdio: 'inherit', env });
    if (result.status !== 0)
      throw new Error(`${[cmd, ...args].join(' ')} failed with exit code ${result.status ?? result.signal}`);
  }
  updated = true;
}
