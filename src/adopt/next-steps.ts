import { parse } from 'yaml';
import { formatActionsRef, type ActionsRef } from './actions-ref.js';

/**
 * FLEETCAST.md, the next steps after `fleetcast init`: what was written and what only a person can
 * set up on GitHub. The variables, secrets, runners and environments are read from the workflows
 * that were written, so the list is that of those workflows, not a copy that can go stale.
 */

/** What the workflows ask of the repository's settings. */
export interface WorkflowNeeds {
  variables: string[];
  secrets: string[];
  /** Self-hosted `runs-on` label sets, each with the jobs that use it. */
  runners: Array<{ labels: string[]; jobs: string[] }>;
  environments: string[];
}

const VARIABLES: Record<string, string> = {
  FLEETCAST_METRICS:
    'metrics source inside the workspace (default `data/metrics`): a parquet file or directory, `path#table` for DuckDB, or `prometheus+https://HOST:9090#mapping=FILE`',
  FLEETCAST_SERVICE_URL:
    'base URL of the inference service (unknown-prediction counts, verify, live accuracy records, live-check)',
  FLEETCAST_TRAIN_DEVICE: '`auto` (default), `cuda` or `cpu`',
  FLEETCAST_VERIFY_URLS:
    'optional: the base URL of every replica, comma-separated, for verify (default `FLEETCAST_SERVICE_URL`); every replica must serve the new model',
  FLEETCAST_VERIFY_EACH_ADDRESS:
    "`true`: verify every address the URLs' host names resolve to (a Kubernetes headless Service: every ready pod); default `false`",
  FLEETCAST_VERIFY_TIMEOUT_SECONDS:
    'how long verify waits for the service to serve a new model (default 600)',
  FLEETCAST_APP_ID:
    "optional: your GitHub App's ID; set, every writing job uses the App's installation token (signed commits on a protected branch, CI on the drift pull request), else `GITHUB_TOKEN`",
};

const SECRETS: Record<string, string> = {
  SLACK_WEBHOOK_URL: 'optional: Slack incoming webhook for trigger, deploy, rollback and failure messages',
  FLEETCAST_SERVICE_TOKEN: "optional: bearer token, if the service's read endpoints need one",
  FLEETCAST_APP_PRIVATE_KEY:
    "with `FLEETCAST_APP_ID`: the App's private key (PEM), from which `actions/create-github-app-token` makes a one-hour installation token",
};

type Job = { 'runs-on'?: unknown; environment?: unknown };

export function workflowNeeds(workflows: ReadonlyArray<{ path: string; content: string }>): WorkflowNeeds {
  const variables = new Set<string>();
  const secrets = new Set<string>();
  const runners = new Map<string, { labels: string[]; jobs: string[] }>();
  const environments = new Set<string>();
  for (const { path, content } of workflows) {
    for (const [, kind, name] of content.matchAll(/\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g))
      if (name !== 'GITHUB_TOKEN') (kind === 'vars' ? variables : secrets).add(name!);
    const file = path
      .split('/')
      .pop()!
      .replace(/\.ya?ml$/, '');
    const jobs = (parse(content) as { jobs?: Record<string, Job> }).jobs ?? {};
    for (const [name, job] of Object.entries(jobs)) {
      const labels = [job['runs-on']].flat().map(String);
      if (labels.includes('self-hosted')) {
        const key = labels.join(', ');
        const entry = runners.get(key) ?? { labels, jobs: [] };
        entry.jobs.push(`${file} / ${name}`);
        runners.set(key, entry);
      }
      const environment = job.environment;
      if (typeof environment === 'string') environments.add(environment);
      else if (typeof environment === 'object' && environment !== null && 'name' in environment)
        environments.add(String(environment.name));
    }
  }
  return {
    variables: [...variables].sort(),
    secrets: [...secrets].sort(),
    runners: [...runners.values()],
    environments: [...environments].sort(),
  };
}

const table = (names: string[], meanings: Record<string, string>): string =>
  [
    '| name | meaning |',
    '|---|---|',
    ...names.map((n) => `| \`${n}\` | ${meanings[n] ?? 'see docs/gitops.md'} |`),
  ].join('\n');

export function renderNextSteps(options: {
  ref: ActionsRef;
  written: readonly string[];
  needs: WorkflowNeeds;
}): string {
  const { ref, needs } = options;
  const docs = `https://github.com/${ref.owner}/${ref.repo}/blob/${ref.ref}/docs`;
  const steps: string[] = [];
  if (needs.runners.length > 0)
    steps.push(
      '**Runners.** Register self-hosted runners with these labels (the GPU one needs an NVIDIA driver\n' +
        '   and PyTorch 2.x with CUDA; the others must read the metrics and reach the inference service):\n' +
        needs.runners
          .map((r) => `   - \`[${r.labels.join(', ')}]\`: ${r.jobs.map((j) => `\`${j}\``).join(', ')}`)
          .join('\n'),
    );
  if (needs.variables.includes('FLEETCAST_METRICS'))
    steps.push(
      '**Metrics.** Make the metrics readable inside the checkout at `FLEETCAST_METRICS` (paths outside\n' +
        '   the workspace are refused; a symlink created in a step before the Fleetcast action works).',
    );
  if (needs.variables.length > 0)
    steps.push(
      `**Variables** (Settings → Secrets and variables → Actions → Variables):\n\n${table(needs.variables, VARIABLES)}\n`,
    );
  if (needs.secrets.length > 0)
    steps.push(`**Secrets** (never echoed; the actions mask them):\n\n${table(needs.secrets, SECRETS)}\n`);
  steps.push(
    '**Settings → Actions → General:** turn on "Allow GitHub Actions to create and approve pull\n' +
      '   requests", so the drift workflow can open its pull request.',
  );
  if (needs.environments.length > 0)
    steps.push(
      `**Environments:** create ${needs.environments.map((e) => `\`${e}\``).join(', ')} (Settings → Environments),\n` +
        '   restricted to the default branch; add required reviewers to approve every deploy and rollback.',
    );
  steps.push(
    '**Default branch.** The workflows push to and trigger on `main`; if your default branch has\n' +
      '   another name, replace `main` in `retrain.yml` and `rollback.yml`.',
    '**Branch protection and code owners:** require review of `fleet/` and `models-registry/` by\n' +
      '   their owners. Deploys, automatic reverts and rollbacks land on the default branch through\n' +
      '   the GitHub API as fast-forwards of signed commits; under a ruleset (signed commits, pull\n' +
      '   requests required) create a GitHub App, add it as a bypass actor and set `FLEETCAST_APP_ID`\n' +
      '   and `FLEETCAST_APP_PRIVATE_KEY`, with the exact settings and the permissions per job of\n' +
      `   [docs/gitops.md](${docs}/gitops.md#branch-protection).`,
    '**CI on the drift pull request:** a pull request opened with `GITHUB_TOKEN` starts no\n' +
      '   `pull_request` workflows, so your CI does not run on it; with the GitHub App above it does.',
    '**First model:** the first drift run (hourly, or Actions → Fleet drift → Run workflow) proposes\n' +
      '   `fleet/manifest.json` from your metrics as a pull request; merging it trains, validates,\n' +
      '   deploys and verifies the first model (`retrain.yml`).',
  );
  return `# Fleetcast in this repository

\`fleetcast init\` wrote:

${options.written.map((p) => `- \`${p}\``).join('\n')}

The workflows use the Fleetcast actions of \`${formatActionsRef(ref)}\`. A moving tag such as \`v1\`
follows compatible releases; pin a full commit sha instead to review every change, and let
Dependabot's \`github-actions\` ecosystem propose updates ([releasing](${docs}/releasing.md)).
Nothing is deployed yet: \`models-registry/\` has no \`current.json\`, which every Fleetcast command
and action reads as "no model deployed".

## Next steps

${steps.map((step, i) => `${i + 1}. ${step}`).join('\n')}

\`config/retrain_config.json\` holds the default drift and reconcile policy
([docs/drift.md](${docs}/drift.md)); unknown keys are rejected with the key named.
`;
}
