import { z } from 'zod';
import type { CommitAuthor } from '../../forge/types.js';
import { GITHUB_ACTIONS_BOT, type RunContext } from './context.js';

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

/** Author of a commit a person asked for (the run's actor); the bot stays the committer. */
export function requesterOf(context: RunContext, bot: CommitAuthor): CommitAuthor {
  return context.actorAuthor ?? bot;
}
