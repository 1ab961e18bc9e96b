import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { FleetcastError } from '../core/errors.js';
import { actionUses, formatActionsRef, type ActionsRef } from './actions-ref.js';

/**
 * The workflows `fleetcast init` writes are Fleetcast's own (.github/workflows/), rewritten for a
 * repository that is not a Fleetcast checkout, so the two never drift apart:
 *
 * - `uses: ./actions/<name>` becomes `uses: OWNER/REPO/actions/<name>@REF`;
 * - `- run: npm ci` steps go: the actions run from their committed bundles (docs/gitops.md, "How
 *   the actions are packaged"), and the other repository has no Fleetcast package.json;
 * - `cache: npm` goes from actions/setup-node, which fails without a lockfile to key the cache on.
 *
 * Anything the rewrite does not recognise and that would not work elsewhere (another local
 * `uses:`, an npm step written differently) is an error, never a silently broken workflow.
 */
export const ADOPTED_WORKFLOWS = ['fleet-drift.yml', 'retrain.yml', 'rollback.yml'] as const;

const SOURCE_DIR = fileURLToPath(new URL('../../.github/workflows/', import.meta.url));

const LOCAL_ACTION = /^(\s*(?:- )?uses:\s*)\.\/actions\/([a-z0-9][a-z0-9-]*)(\s+#.*)?$/;
const NPM_CI_STEP = /^\s*- run: npm ci\s*$/;
const NPM_CACHE = /^\s*cache: npm\s*$/;

interface Step {
  uses?: unknown;
  run?: unknown;
  with?: Record<string, unknown> | null;
}

/** What in a rewritten workflow still needs a Fleetcast checkout (empty when nothing does). */
export function checkoutDependencies(text: string): string[] {
  const workflow = parse(text) as { jobs?: Record<string, { steps?: Step[] }> } | null;
  const problems: string[] = [];
  for (const [job, { steps = [] }] of Object.entries(workflow?.jobs ?? {})) {
    steps.forEach((step, i) => {
      const where = `jobs.${job}.steps[${i}]`;
      if (typeof step.uses === 'string' && step.uses.startsWith('./'))
        problems.push(`${where}: uses a local action (${step.uses})`);
      if (typeof step.run === 'string' && /\bnpm\s+(ci|install|i|run)\b/.test(step.run))
        problems.push(`${where}: runs npm (${step.run.trim().split('\n')[0]})`);
      if (step.with?.cache !== undefined)
        problems.push(`${where}: caches ${String(step.with.cache)} dependencies keyed on a lockfile`);
    });
  }
  return problems;
}

/**
 * One of Fleetcast's workflows as another repository's (pure). `name` is the file name, for the
 * header and error messages. Throws when the result would still need a Fleetcast checkout.
 */
export function adoptWorkflow(text: string, name: string, ref: ActionsRef, version: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (NPM_CI_STEP.test(line) || NPM_CACHE.test(line)) continue;
    const local = LOCAL_ACTION.exec(line);
    lines.push(local === null ? line : `${local[1]}${actionUses(ref, local[2]!)}${local[3] ?? ''}`);
  }
  const adopted = lines.join('\n');
  const problems = checkoutDependencies(adopted);
  if (problems.length > 0)
    throw new FleetcastError(
      `.github/workflows/${name} of Fleetcast cannot be written for another repository:\n  ${problems.join('\n  ')}`,
    );
  const header =
    `# Written by \`fleetcast init\` (Fleetcast ${version}) from Fleetcast's own ${name}, with the\n` +
    `# actions of ${formatActionsRef(ref)}. docs/gitops.md of Fleetcast explains every job.\n`;
  return header + adopted;
}

/** Every adopted workflow: repository path → text. */
export async function adoptedWorkflows(
  ref: ActionsRef,
  version: string,
  sourceDir = SOURCE_DIR,
): Promise<Array<{ path: string; content: string }>> {
  return Promise.all(
    ADOPTED_WORKFLOWS.map(async (name) => ({
      path: `.github/workflows/${name}`,
      content: adoptWorkflow(await readFile(`${sourceDir}${name}`, 'utf8'), name, ref, version),
    })),
  );
}
