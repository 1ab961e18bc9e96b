import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { trainModel } from '../../src/train/pipeline.js';
import { DEFAULT_GATES } from '../../src/validate/gates.js';
import { createWorkDir, removeStaleWorkDirs, WORK_DIR_OWNER_FILE } from '../../src/train/work-dirs.js';

const HOUR = 3_600_000;

/** A pid that was alive a moment ago and is not now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

async function workDir(root: string, name: string, owner: number | null, ageHours: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'dataset'), { recursive: true });
  await writeFile(join(dir, 'dataset', 'dataset.f32'), 'x');
  if (owner !== null)
    await writeFile(
      join(dir, WORK_DIR_OWNER_FILE),
      JSON.stringify({ pid: owner, host: hostname(), started_at: new Date().toISOString() }),
    );
  const when = new Date(Date.now() - ageHours * HOUR);
  await utimes(dir, when, when);
  return dir;
}

describe('stale fleetcast-train-* work dirs', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-workdirs-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('removes old dirs of dead runs, keeps live, recent, foreign and linked ones, and says so', async () => {
    const base = join(root, 'unit');
    await mkdir(base);
    const dead = deadPid();
    await workDir(base, 'fleetcast-train-dead01', dead, 30);
    await workDir(base, 'fleetcast-train-noown1', null, 30);
    await workDir(base, 'fleetcast-train-live01', process.pid, 30);
    await workDir(base, 'fleetcast-train-young1', dead, 1);
    await workDir(base, 'other-dir-abcdef', dead, 30);
    await symlink(join(base, 'other-dir-abcdef'), join(base, 'fleetcast-train-link01'));
    const lines: string[] = [];
    const removed = await removeStaleWorkDirs({ dir: base, log: (line) => lines.push(line) });
    assert.deepEqual(removed.sort(), [
      join(base, 'fleetcast-train-dead01'),
      join(base, 'fleetcast-train-noown1'),
    ]);
    assert.deepEqual((await readdir(base)).sort(), [
      'fleetcast-train-link01',
      'fleetcast-train-live01',
      'fleetcast-train-young1',
      'other-dir-abcdef',
    ]);
    assert.equal(lines.length, 2);
    assert.match(
      lines.join('\n'),
      new RegExp(
        `removed stale work dir .*fleetcast-train-dead01 \\(pid ${dead}, not running; 30\\.0 h old\\)`,
      ),
    );
    assert.match(
      lines.join('\n'),
      /removed stale work dir .*fleetcast-train-noown1 \(no owner file; 30\.0 h old\)/,
    );
  });

  it('marks a new work dir with its owner, so a concurrent run leaves it alone', async () => {
    const base = join(root, 'own');
    await mkdir(base);
    const dir = await createWorkDir(base);
    assert.match(dir, /fleetcast-train-[A-Za-z0-9]{6}$/);
    const old = new Date(Date.now() - 48 * HOUR);
    await utimes(dir, old, old);
    assert.deepEqual(await removeStaleWorkDirs({ dir: base }), []);
    assert.ok(existsSync(dir));
  });

  it('the next train run removes the dirs a killed run left behind, before anything else', async () => {
    const base = join(root, 'run');
    await mkdir(base);
    await workDir(base, 'fleetcast-train-killed', deadPid(), 48);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = base;
    const lines: string[] = [];
    try {
      await assert.rejects(
        trainModel({
          metrics: join(base, 'missing.parquet'),
          manifest: join(base, 'missing.json'),
          registry: join(base, 'registry'),
          profile: 'smoke',
          seed: 0,
          validate: false,
          gates: DEFAULT_GATES,
          progress: (line) => lines.push(line),
        }),
        /missing\.parquet/,
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    assert.deepEqual(await readdir(base), []);
    assert.match(lines.join('\n'), /train: removed stale work dir .*fleetcast-train-killed/);
  });
});
