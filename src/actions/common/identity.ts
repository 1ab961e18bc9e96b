import { z } from 'zod';
import type { CommitAuthor } from '../../forge/types.js';

/**
 * Who commits: the identities @actions/github's context does not describe. The bot is the
 * committer of every Fleetcast commit; a person who asked for one (a rollback) is its author.
 */

/** The identity GitHub shows for commits made with GITHUB_TOKEN. */
export const GITHUB_ACTIONS_BOT: CommitAuthor = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

/** A commit email as git accepts it (GitHub's bot address has brackets, which z.email() refuses). */
export const CommitEmail = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be an email address');

export const IDENTITY_INPUTS = ['bot_name', 'bot_email'] as const;

export const IdentitySettings = z.object({
  bot_name: z.string().default(GITHUB_ACTIONS_BOT.name),
  bot_email: CommitEmail.default(GITHUB_ACTIONS_BOT.email),
});

export function botOf(settings: z.infer<typeof IdentitySettings>): CommitAuthor {
  return { name: settings.bot_name, email: settings.bot_email };
}

/**
 * The run's actor as a commit author, with GitHub's noreply address (which needs GITHUB_ACTOR_ID,
 * absent from @actions/github's context); undefined when the runner did not say who it is.
 */
export function actorAuthor(env: NodeJS.ProcessEnv = process.env): CommitAuthor | undefined {
  const actor = env.GITHUB_ACTOR;
  const id = env.GITHUB_ACTOR_ID;
  if (!actor || !id || !/^[A-Za-z0-9-]+(\[bot\])?$/.test(actor) || !/^\d+$/.test(id)) return undefined;
  return { name: actor, email: `${id}+${actor}@users.noreply.github.com` };
}
