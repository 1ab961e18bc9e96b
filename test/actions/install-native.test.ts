import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** actions/install-native.mjs, the first step of the composite actions, with a stand-in npm on PATH. */
const script = fileURLToPath(new URL('../../actions/install-native.mjs', import.meta.url));
let dir: string;
let bin: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetcast-install-native-'));
  bin = join(dir, 'bin');
  await mkdir(bin);
  // Records its arguments and working directory; installs the package unless FAKE_NPM_FAIL is set.
  await writeFile(
    join(bin, 'npm'),
    [
      '#!/bin/sh',
      'echo "$PWD $*" >> "$FAKE_NPM_LOG"',
      'if [ -n "$FAKE_NPM_FAIL" ]; then exit 3; fi',
      'mkdir -p node_modules/native-thing',
      'echo \'{"name":"native-thing","version":"1.0.0","main":"index.js"}\' > node_modules/native-thing/package.json',
      'echo "module.exports = 1" > node_modules/native-thing/index.js',
    ].join('\n'),
  );
  await chmod(join(bin, 'npm'), 0o755);
});
after(() => rm(dir, { recursive: true, force: true }));

async function actionFolder(name: string): Promise<string> {
  const action = join(dir, name);
  await mkdir(join(action, 'dist'), { recursive: true });
  await writeFile(
    join(action, 'package.json'),
    JSON.stringify({
      name: `fleetcast-action-${name}`,
      type: 'module',
      dependencies: { 'native-thing': '1.0.0' },
    }),
  );
  return action;
}

function install(action: string, env: Record<string, string> = {}) {
  const log = join(dir, `${action.split('/').pop()}.log`);
  const result = spawnSync(process.execPath, [script, action], {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_NPM_LOG: log, ...env },
    encoding: 'utf8',
  });
  return { ...result, log };
}

test('installs the pinned modules with npm ci into the action folder, once', async () => {
  const action = await actionFolder('fresh');
  const first = install(action);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /installing native-thing into .*fresh \(npm ci, pinned by package-lock\.json\)/);
  assert.equal(
    (await readFile(first.log, 'utf8')).trim(),
    `${action} ci --omit=dev --ignore-scripts --no-audit --no-fund`,
  );
  const second = install(action);
  assert.equal(second.status, 0);
  assert.match(second.stdout, /native modules already installed: native-thing/);
  assert.equal((await readFile(second.log, 'utf8')).trim().split('\n').length, 1, 'npm ran once');
});

test('a failing npm fails the step with an error annotation', async () => {
  const action = await actionFolder('failing');
  const result = install(action, { FAKE_NPM_FAIL: '1' });
  assert.equal(result.status, 1);
  assert.match(result.stdout, /::error::npm ci failed in .*failing \(exit 3\)/);
});

test('in a Fleetcast checkout the repository node_modules already has them', () => {
  const result = install(fileURLToPath(new URL('../../actions/drift', import.meta.url)));
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /already installed: @duckdb\/node-api/);
});
