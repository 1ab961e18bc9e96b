import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { GitWorkspace } from '../forge/git-workspace.js';
import { LocalForge } from '../forge/local-forge.js';
import type { CommitAuthor } from '../forge/types.js';
import { EMPTY_MANIFEST, renderManifest } from '../fleet/manifest.js';

export const DEMO_HUMAN: CommitAuthor = { name: 'Demo Operator', email: 'operator@fleetcast.invalid' };
export const DEMO_BOT: CommitAuthor = { name: 'fleetcast[bot]', email: 'fleetcast-bot@fleetcast.invalid' };

/**
 * Everything the demo touches, under one temporary directory: a bare repository playing the
 * GitOps remote, the operator's clone, pull request records, metrics, and the service's clone.
 * The checkout the demo runs from is never written to.
 */
export interface DemoWorkspace {
  root: string;
  origin: string;
  clone: string;
  pullsDir: string;
  dataDir: string;
  serviceClone: string;
  eventsLog: string;
  git: GitWorkspace;
  forge: LocalForge;
  /** Fetches origin/main into the operator's clone (after a merge made through the forge). */
  pull(): Promise<void>;
  remove(): Promise<void>;
}

const README = `# Fleet GitOps repository (demo)

- \`fleet/manifest.json\`: the servers the forecasting model must cover.
- \`models-registry/\`: trained models and \`current.json\`, the pointer the inference service follows.
`;

export async function createDemoWorkspace(workDir?: string): Promise<DemoWorkspace> {
  const root = workDir ?? (await mkdtemp(join(tmpdir(), 'fleetcast-demo-')));
  const origin = join(root, 'origin.git');
  const clone = join(root, 'gitops');
  const pullsDir = join(root, 'pulls');
  const dataDir = join(root, 'data');
  await Promise.all([mkdir(dataDir, { recursive: true }), mkdir(pullsDir, { recursive: true })]);

  await simpleGit().raw(['init', '--quiet', '--bare', '--initial-branch=main', origin]);
  await simpleGit().raw(['clone', '--quiet', origin, clone]);
  const repo = simpleGit(clone);
  await repo.raw(['checkout', '--quiet', '-B', 'main']);
  await mkdir(join(clone, 'fleet'), { recursive: true });
  await mkdir(join(clone, 'models-registry', 'models'), { recursive: true });
  await writeFile(join(clone, 'README.md'), README);
  await writeFile(join(clone, 'fleet', 'manifest.json'), renderManifest(EMPTY_MANIFEST));
  await writeFile(join(clone, 'models-registry', 'models', '.gitkeep'), '');

  const git = await GitWorkspace.create(clone);
  await git.commit(['.'], 'Initialize the fleet GitOps repository', DEMO_HUMAN);
  await git.push('main', DEMO_HUMAN);
  const forge = await LocalForge.create({ repository: origin, pullsDir, mergeAuthor: DEMO_HUMAN });

  return {
    root,
    origin,
    clone,
    pullsDir,
    dataDir,
    serviceClone: join(root, 'service-clone'),
    eventsLog: join(root, 'logs', 'retraining_events.json'),
    git,
    forge,
    async pull() {
      await repo.raw(['pull', '--quiet', '--ff-only', 'origin', 'main']);
    },
    async remove() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
