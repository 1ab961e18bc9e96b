import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  aptCommands,
  chromiumPlan,
  noRootMessage,
  osId,
  PACKAGES,
  rootPrefixFor,
} from '../../scripts/system-deps.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('scripts/system-deps.mjs: how system packages are installed', () => {
  test('root runs apt-get itself, another user through sudo -n, and nobody without apt-get', () => {
    const never = () => assert.fail('sudo is not probed');
    assert.deepEqual(rootPrefixFor({ hasAptGet: true, uid: 0, sudoWorks: never }), []);
    assert.deepEqual(rootPrefixFor({ hasAptGet: true, uid: 1001, sudoWorks: () => true }), [
      'sudo',
      '-n',
      '-E',
    ]);
    assert.equal(rootPrefixFor({ hasAptGet: true, uid: 1001, sudoWorks: () => false }), null);
    assert.equal(rootPrefixFor({ hasAptGet: false, uid: 0, sudoWorks: never }), null);
  });

  test('the apt-get commands, direct or through sudo', () => {
    assert.deepEqual(aptCommands([], ['prometheus']), [
      ['apt-get', ['update', '-qq']],
      ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus']],
    ]);
    assert.deepEqual(aptCommands(['sudo', '-n', '-E'], PACKAGES.peers)[1], [
      'sudo',
      ['-n', '-E', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...PACKAGES.peers],
    ]);
  });

  test('without root or sudo the message names the packages and the command that installs them', () => {
    const message = noRootMessage(PACKAGES.torch, '/usr/bin/python3 cannot import torch', {
      hasAptGet: true,
    });
    assert.match(message, /^\/usr\/bin\/python3 cannot import torch: /);
    assert.match(message, /needs root or password-less sudo/);
    assert.match(message, /sudo apt-get install -y --no-install-recommends python3-torch\b/);
    assert.match(noRootMessage(['x'], 'why', { hasAptGet: false }), /no apt-get here/);
  });

  test('Chromium: a named binary is never replaced by an install; Ubuntu is told to name one', () => {
    const none = () => false;
    assert.deepEqual(chromiumPlan({ env: {}, exists: () => true, osId: 'ubuntu' }), {
      path: '/usr/bin/chromium',
      install: null,
      error: null,
    });
    assert.deepEqual(chromiumPlan({ env: {}, exists: none, osId: 'debian' }).install, ['chromium']);
    const named = chromiumPlan({ env: { FLEETCAST_CHROMIUM: '/opt/chrome' }, exists: none, osId: 'debian' });
    assert.equal(named.install, null);
    assert.match(named.error ?? '', /FLEETCAST_CHROMIUM=\/opt\/chrome does not exist/);
    const ubuntu = chromiumPlan({ env: {}, exists: none, osId: 'ubuntu' });
    assert.equal(ubuntu.install, null);
    assert.match(ubuntu.error ?? '', /set FLEETCAST_CHROMIUM .*\/usr\/bin\/google-chrome/);
  });

  test('os-release ID, quoted or not', () => {
    assert.equal(osId('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'), 'ubuntu');
    assert.equal(osId('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID="debian"\n'), 'debian');
    assert.equal(osId(''), undefined);
  });

  // Run for real as a user without root and without sudo (uid 65534 has neither), as a developer
  // or a CI job without password-less sudo would: nothing is installed, the message says what to do.
  test(
    'as a user without root or sudo, aptInstall installs nothing and says what to run',
    { skip: process.getuid?.() !== 0 ? 'needs root, to run the check as an unprivileged user' : false },
    async () => {
      // a copy in a directory that user can read, wherever the checkout is
      const dir = await mkdtemp(join(tmpdir(), 'fleetcast-system-deps-'));
      await copyFile(join(root, 'scripts', 'system-deps.mjs'), join(dir, 'system-deps.mjs'));
      await chmod(dir, 0o755);
      await chmod(join(dir, 'system-deps.mjs'), 0o644);
      const script =
        "import('./system-deps.mjs').then((m) => { m.aptInstall(['fleetcast-no-such-package'], 'probe'); })";
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        uid: 65534,
        gid: 65534,
        env: { PATH: process.env.PATH, HOME: tmpdir() },
        encoding: 'utf8',
      });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /probe: this needs the packages fleetcast-no-such-package/);
      assert.match(
        result.stderr,
        /sudo apt-get install -y --no-install-recommends fleetcast-no-such-package/,
      );
      assert.doesNotMatch(result.stderr, /\[setup\] .*apt-get (update|install)/, 'no apt-get was started');
      await rm(dir, { recursive: true, force: true });
    },
  );
});

describe('.github/workflows/ci.yml installs what the suite needs as the runner user', () => {
  type Step = { name?: string; run?: string; uses?: string };
  const ci = parse(readFileSync(join(root, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
    jobs: { test: { 'runs-on': string; env?: Record<string, string>; steps: Step[] } };
  };
  const job = ci.jobs.test;

  test('one sudo apt-get install of exactly the packages ensure-deps would install, before npm test', () => {
    assert.equal(job['runs-on'], 'ubuntu-latest');
    const index = job.steps.findIndex((s) => /sudo .*apt-get install/.test(s.run ?? ''));
    assert.ok(index >= 0, 'an explicit apt-get install step');
    const command = job.steps[index]!.run!.replaceAll('\\\n', ' ');
    const installed = /apt-get install ([^\n]*)/
      .exec(command)![1]!
      .split(/\s+/)
      .filter((w) => w !== '' && !w.startsWith('-'));
    assert.deepEqual(installed.sort(), [...PACKAGES.torch, ...PACKAGES.peers, ...PACKAGES.prometheus].sort());
    const npmTest = job.steps.findIndex((s) => s.run?.trim() === 'npm test');
    assert.ok(npmTest > index, 'npm test runs after the system packages');
  });

  test('the dashboard test gets a browser Ubuntu runners have', () => {
    const plan = chromiumPlan({ env: job.env ?? {}, exists: () => false, osId: 'ubuntu' });
    assert.equal(plan.path, '/usr/bin/google-chrome');
  });
});
