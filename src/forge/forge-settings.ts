import { z } from 'zod';
import { GitHubForge } from './github-forge.js';
import { LocalForge } from './local-forge.js';
import type { Forge } from './types.js';

/** Inputs shared by actions that talk to the forge. */
export const FORGE_INPUTS = [
  'forge',
  'token',
  'repository',
  'api_url',
  'local_repository',
  'local_pulls_dir',
] as const;

export const ForgeSettings = z
  .object({
    forge: z.enum(['github', 'local']).default('github'),
    token: z.string().optional(),
    repository: z.string().optional(),
    api_url: z.url().default('https://api.github.com'),
    local_repository: z.string().optional(),
    local_pulls_dir: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.forge === 'github') {
      if (!s.token)
        ctx.addIssue({ code: 'custom', path: ['token'], message: 'required when forge is github' });
      if (!s.repository || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(s.repository))
        ctx.addIssue({ code: 'custom', path: ['repository'], message: 'must be owner/name' });
    } else {
      if (!s.local_repository)
        ctx.addIssue({ code: 'custom', path: ['local_repository'], message: 'required when forge is local' });
      if (!s.local_pulls_dir)
        ctx.addIssue({ code: 'custom', path: ['local_pulls_dir'], message: 'required when forge is local' });
    }
  });
export type ForgeSettings = z.infer<typeof ForgeSettings>;

/** Built after inputs are read and validated, never at module load. */
export async function openForge(settings: ForgeSettings, retryBaseMs?: number): Promise<Forge> {
  if (settings.forge === 'local') {
    return LocalForge.create({ repository: settings.local_repository!, pullsDir: settings.local_pulls_dir! });
  }
  return GitHubForge.create({
    token: settings.token!,
    repository: settings.repository!,
    baseUrl: settings.api_url,
    ...(retryBaseMs === undefined ? {} : { retryBaseMs }),
  });
}

/** The token the action's git workspace fetches with (GitHub only: a local forge needs none). */
export function gitToken(settings: ForgeSettings): string | undefined {
  return settings.forge === 'github' ? settings.token : undefined;
}
