import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitStore } from '../../src/forge/git-store.js';
import type { CommitAuthor } from '../../src/forge/types.js';

const exec = promisify(execFile);

export const HUMAN: CommitAuthor = { name: 'Dana Operator', email: 'dana@example.com' };

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: HUMAN.name,
      GIT_AUTHOR_EMAIL: HUMAN.email,
      GIT_COMMITTER_NAME: HUMAN.name,
      GIT_COMMITTER_EMAIL: HUMAN.email,
    },
  });
  return stdout;
}

/** `git` with `main` as the default branch of a new repository; the output trimmed. */
export async function gitOut(cwd: string, ...args: string[]): Promise<string> {
  return (await git(cwd, '-c', 'init.defaultBranch=main', ...args)).trim();
}

export interface GitFixture {
  root: string;
  /** The bare repository playing the remote (GitHub's copy). */
  remote: string;
  store: GitStore;
  cleanup(): Promise<void>;
  /** A fresh clone of the remote, like actions/checkout with fetch-depth 0. */
  clone(name?: string): Promise<string>;
  /** Commits `files` on `branch` of the remote as someone else (a person editing on GitHub). */
  commitAs(
    author: CommitAuthor,
    branch: string,
    files: Record<string, string | Uint8Array | null>,
    message: string,
  ): Promise<string>;
}

/** A bare remote whose `main` holds `files`, in a temp directory. */
export async function createGitFixture(files: Record<string, string>): Promise<GitFixture> {
  const root = await mkdtemp(join(tmpdir(), 'fleetcast-git-'));
  const remote = join(root, 'remote.git');
  await exec('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  const store = await GitStore.create(remote);
  const tree = await store.writeTree(
    undefined,
    Object.entries(files).map(([path, content]) => ({ path, content })),
  );
  const first = await store.commitTree(tree, [], 'initial import', HUMAN);
  await store.moveBranch('main', first, null);
  let clones = 0;
  return {
    root,
    remote,
    store,
    cleanup: () => rm(root, { recursive: true, force: true }),
    async clone(name = `work-${++clones}`) {
      const dir = join(root, name);
      await exec('git', ['clone', '--quiet', remote, dir]);
      return dir;
    },
    async commitAs(author, branch, changes, message) {
      const parent = (await store.branchSha(branch))!;
      const next = await store.writeTree(
        await store.treeOf(parent),
        Object.entries(changes).map(([path, content]) => ({ path, content })),
      );
      const sha = await store.commitTree(next, [parent], message, author);
      if (!(await store.moveBranch(branch, sha, parent))) throw new Error('branch moved');
      return sha;
    },
  };
}

/** Action inputs that land commits through the local forge over the fixture's bare remote. */
export function localForgeInputs(fixture: GitFixture): Record<string, string> {
  return { forge: 'local', local_repository: fixture.remote, local_pulls_dir: join(fixture.root, 'forge') };
}
