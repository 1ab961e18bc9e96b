// Preloaded (`node --import`) into a `fleetcast` process by test/faults/crash.test.ts: the process
// SIGKILLs itself (no cleanup, no finally, like kill -9 or a power cut) at a named phase of writing
// the registry pointer, or just before its Nth call to a node:fs/promises function.
//   FLEETCAST_TEST_KILL_AT = lock-taken | tmp-opened | before-rename | after-rename | op:<N>
import { createRequire, syncBuiltinESMExports } from 'node:module';

const at = process.env.FLEETCAST_TEST_KILL_AT;

if (at) {
  const require = createRequire(import.meta.url);
  const fsp = require('node:fs').promises;
  const die = () => process.kill(process.pid, 'SIGKILL');
  const nth = at.startsWith('op:') ? Number(at.slice(3)) : 0;
  let ops = 0;
  const isPointerTmp = (p) => /\.current\.json\.\d+\.[0-9a-f]+\.tmp$/.test(String(p));
  for (const name of [
    'open',
    'readFile',
    'writeFile',
    'rename',
    'unlink',
    'rm',
    'stat',
    'lstat',
    'readdir',
    'mkdir',
  ]) {
    const original = fsp[name];
    fsp[name] = async function killable(path, ...rest) {
      if (nth > 0 && ++ops === nth) die();
      if (at === 'before-rename' && name === 'rename' && isPointerTmp(path)) die();
      const result = await original.call(this, path, ...rest);
      if (at === 'lock-taken' && name === 'open' && String(path).endsWith('.current.json.lock')) die();
      if (at === 'tmp-opened' && name === 'open' && isPointerTmp(path)) die();
      if (at === 'after-rename' && name === 'rename' && isPointerTmp(path)) die();
      return result;
    };
  }
  syncBuiltinESMExports();
}
