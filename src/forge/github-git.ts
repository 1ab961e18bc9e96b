import { BranchMovedError, ForgeError } from './errors.js';
import { callGitHub, statusOf, toForgeError, type GitHubRepo } from './github-client.js';
import type { BranchCommit, CommitInfo, DatedCommit } from './types.js';

/** Branches, files and commits through GitHub's git data API. */

export async function getBranchSha(gh: GitHubRepo, branch: string): Promise<string | undefined> {
  try {
    const { data } = await gh.client.rest.git.getRef({ ...gh.params, ref: `heads/${branch}` });
    return data.object.sha;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw toForgeError(`read branch ${branch}`, error);
  }
}

interface ContentFile {
  type?: string;
  encoding?: string;
  content?: string;
  sha?: string;
}

/** A regular file as the contents API gives it at `ref`, or undefined when absent. */
async function contentFile(gh: GitHubRepo, ref: string, path: string): Promise<ContentFile | undefined> {
  let data: unknown;
  try {
    ({ data } = await gh.client.rest.repos.getContent({ ...gh.params, path, ref }));
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw toForgeError(`read ${path} at ${ref}`, error);
  }
  const file = data as ContentFile;
  if (Array.isArray(data) || file.type !== 'file' || file.sha === undefined)
    throw new ForgeError(`read ${path} at ${ref}`, 'not a regular file');
  return file;
}

/** The blob id the contents API gives for a file (no second request for large ones). */
export async function fileId(gh: GitHubRepo, ref: string, path: string): Promise<string | undefined> {
  return (await contentFile(gh, ref, path))?.sha;
}

export async function readFile(gh: GitHubRepo, ref: string, path: string): Promise<string | undefined> {
  const file = await contentFile(gh, ref, path);
  if (file === undefined) return undefined;
  if (file.encoding === 'base64' && file.content !== undefined) {
    return Buffer.from(file.content, 'base64').toString('utf8');
  }
  // Files over 1 MB come back without content: fetch the blob instead.
  return callGitHub(`read blob of ${path}`, async () => {
    const blob = await gh.client.rest.git.getBlob({ ...gh.params, file_sha: file.sha ?? '' });
    return Buffer.from(blob.data.content, 'base64').toString('utf8');
  });
}

/**
 * One commit on `parentSha` with the changed files; the branch moves only if nobody moved it
 * meanwhile. Text goes into the tree inline, bytes as base64 blobs. Without `author` the commit
 * carries no custom identity, so GitHub makes it as the token's App or bot and signs it.
 */
export async function commitFiles(gh: GitHubRepo, change: BranchCommit): Promise<string> {
  const op = `commit to ${change.branch}`;
  const parent = await callGitHub(op, () =>
    gh.client.rest.git.getCommit({ ...gh.params, commit_sha: change.parentSha }),
  );
  type Entry = { path: string; mode: '100644'; type: 'blob'; sha?: string | null; content?: string };
  const entries: Entry[] = [];
  for (const [path, content] of Object.entries(change.files)) {
    const entry = { path, mode: '100644' as const, type: 'blob' as const };
    if (content === null) entries.push({ ...entry, sha: null });
    else if (typeof content === 'string') entries.push({ ...entry, content });
    else entries.push({ ...entry, sha: await createBlob(gh, op, content) });
  }
  const tree = await callGitHub(op, () =>
    gh.client.rest.git.createTree({ ...gh.params, base_tree: parent.data.tree.sha, tree: entries }),
  );
  const commit = await callGitHub(op, () =>
    gh.client.rest.git.createCommit({
      ...gh.params,
      message: change.message,
      tree: tree.data.sha,
      parents: [change.parentSha],
      ...(change.author === undefined ? {} : { author: change.author }),
    }),
  );
  // Re-read right before moving: a bot branch is rewritten (forced) only if it is still as seen.
  const current = await getBranchSha(gh, change.branch);
  if ((current ?? null) !== change.expectedHeadSha) {
    throw new BranchMovedError(change.branch, change.expectedHeadSha, current);
  }
  if (current === undefined) {
    await callGitHub(op, () =>
      gh.client.rest.git.createRef({
        ...gh.params,
        ref: `refs/heads/${change.branch}`,
        sha: commit.data.sha,
      }),
    );
    return commit.data.sha;
  }
  // On the parent it expected the move is a fast-forward, and GitHub enforces it (force: false):
  // a push between the re-read above and here makes GitHub answer 422, never lose that push.
  const fastForward = change.parentSha === change.expectedHeadSha;
  try {
    await gh.client.rest.git.updateRef({
      ...gh.params,
      ref: `heads/${change.branch}`,
      sha: commit.data.sha,
      force: !fastForward,
    });
  } catch (error) {
    if (fastForward && statusOf(error) === 422)
      throw new BranchMovedError(
        change.branch,
        change.expectedHeadSha,
        await getBranchSha(gh, change.branch),
      );
    throw toForgeError(op, error);
  }
  return commit.data.sha;
}

async function createBlob(gh: GitHubRepo, op: string, bytes: Uint8Array): Promise<string> {
  const blob = await callGitHub(op, () =>
    gh.client.rest.git.createBlob({
      ...gh.params,
      content: Buffer.from(bytes).toString('base64'),
      encoding: 'base64',
    }),
  );
  return blob.data.sha;
}

export async function deleteBranch(gh: GitHubRepo, branch: string): Promise<void> {
  try {
    await gh.client.rest.git.deleteRef({ ...gh.params, ref: `heads/${branch}` });
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 422) return; // already gone
    throw toForgeError(`delete branch ${branch}`, error);
  }
}

export async function commitsBetween(gh: GitHubRepo, base: string, head: string): Promise<CommitInfo[]> {
  return callGitHub(`compare ${base}...${head}`, async () => {
    const { data } = await gh.client.rest.repos.compareCommitsWithBasehead({
      ...gh.params,
      basehead: `${base}...${head}`,
      per_page: 100,
    });
    return data.commits.map((c) => ({
      sha: c.sha,
      message: c.commit.message,
      author: { name: c.commit.author?.name ?? '', email: c.commit.author?.email ?? '' },
    }));
  });
}

/** Commits on `ref` that changed `path`, newest first (one page, at most 100). */
export async function fileHistory(
  gh: GitHubRepo,
  ref: string,
  path: string,
  limit: number,
): Promise<DatedCommit[]> {
  try {
    const { data } = await gh.client.rest.repos.listCommits({
      ...gh.params,
      sha: ref,
      path,
      per_page: Math.min(Math.max(limit, 1), 100),
    });
    return data.slice(0, limit).map((c) => ({
      sha: c.sha,
      message: c.commit.message,
      author: { name: c.commit.author?.name ?? '', email: c.commit.author?.email ?? '' },
      date: c.commit.committer?.date ?? c.commit.author?.date ?? '',
    }));
  } catch (error) {
    // An unknown ref (or an empty repository) has no history.
    if (statusOf(error) === 404 || statusOf(error) === 409) return [];
    throw toForgeError(`history of ${path} at ${ref}`, error);
  }
}
