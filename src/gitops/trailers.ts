/** Git trailers (`Key: value` lines in the last paragraph of a commit message). */
export function parseTrailers(message: string): Map<string, string[]> {
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const last = paragraphs.at(-1) ?? '';
  const trailers = new Map<string, string[]>();
  for (const line of last.split('\n')) {
    const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, key, value] = match;
    trailers.set(key!, [...(trailers.get(key!) ?? []), value!.trim()]);
  }
  return trailers;
}

export function trailer(message: string, key: string): string | undefined {
  return parseTrailers(message).get(key)?.at(-1);
}

/** The commit a `git revert` message names ("This reverts commit <sha>."). */
export function revertedSha(message: string): string | undefined {
  return /This reverts commit ([0-9a-f]{7,64})\b/.exec(message)?.[1];
}

/**
 * Who a pointer commit was for: its `Requested-by:` line (Fleetcast's rollback and revert
 * messages), else its author. Commits landed through the GitHub API are authored by the App that
 * signs them, so the person is only in the message.
 */
export function requestedBy(commit: { message: string; author: { name: string; email: string } }): string {
  const line = commit.message.split('\n').find((l) => l.startsWith('Requested-by:'));
  const named = line?.slice('Requested-by:'.length).trim();
  return named || commit.author.name || commit.author.email;
}
