// Preloaded (`node --import`) into CLI processes by test/cli/deploy-concurrency.test.ts.
// After a process first reads a registry pointer (a path ending in current.json), it waits until
// another process has read one too (or FLEETCAST_TEST_BARRIER_MS passes), so that deploys started
// together really overlap between reading the pointer and writing it. Without a lock they all read
// the same pointer; with one, only the first waits.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const dir = process.env.FLEETCAST_TEST_BARRIER_DIR;
const waitMs = Number(process.env.FLEETCAST_TEST_BARRIER_MS ?? 5000);

if (dir) {
  const require = createRequire(import.meta.url);
  const fs = require('node:fs');
  const readFile = fs.promises.readFile;
  let arrived = false;
  fs.promises.readFile = async function readFileThenMeet(path, ...rest) {
    const result = await readFile.call(this, path, ...rest);
    if (!arrived && String(path).endsWith('current.json')) {
      arrived = true;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, String(process.pid)), '');
      const until = Date.now() + waitMs;
      while (readdirSync(dir).length < 2 && Date.now() < until) await sleep(20);
    }
    return result;
  };
  syncBuiltinESMExports();
}
