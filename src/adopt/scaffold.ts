import { toJsonText } from '../core/atomic-write.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_RETRAIN_CONFIG } from '../config/retrain-config.js';
import { EMPTY_MANIFEST, renderManifest } from '../fleet/manifest.js';
import type { ActionsRef } from './actions-ref.js';
import { renderNextSteps, workflowNeeds } from './next-steps.js';
import { adoptedWorkflows } from './workflow-templates.js';
import type { PlannedFile } from './write-files.js';

export const NEXT_STEPS_FILE = 'FLEETCAST.md';

const REGISTRY_README = `# models-registry/

GitOps state: which model is deployed (written by the Fleetcast deploy and rollback actions).

- \`models/<model_id>/\`: one directory per trained model (ONNX graph, encoders, server mapping,
  normalization, training and validation reports, \`SHA256SUMS\`).
- \`current.json\`: the deploy pointer (model id and the sha256 of its \`SHA256SUMS\`). There is none
  until the first deploy; until then every Fleetcast command and action reads "no model deployed".
  Rolling back is a \`git revert\` of the commit that changed it.

Change these files only through the Retrain and Rollback workflows or \`git revert\`.
`;

export interface ScaffoldOptions {
  ref: ActionsRef;
  /** Fleetcast's version, recorded in the workflows' headers. */
  version: string;
  /** Only the workflows (refreshing them after an upgrade leaves the GitOps state alone). */
  workflowsOnly?: boolean;
}

/**
 * What `fleetcast init` writes into a repository, in order: the workflows, the retrain policy at
 * its defaults, an empty fleet manifest, the registry without a pointer, and FLEETCAST.md.
 */
export async function scaffoldFiles(options: ScaffoldOptions): Promise<PlannedFile[]> {
  const workflows = await adoptedWorkflows(options.ref, options.version);
  if (options.workflowsOnly) return workflows;
  const state: PlannedFile[] = [
    { path: DEFAULT_CONFIG_PATH, content: toJsonText(DEFAULT_RETRAIN_CONFIG) },
    { path: 'fleet/manifest.json', content: renderManifest(EMPTY_MANIFEST) },
    { path: 'models-registry/README.md', content: REGISTRY_README },
    { path: 'models-registry/models/.gitkeep', content: '' },
  ];
  const written = [...workflows, ...state].map((f) => f.path);
  const nextSteps = renderNextSteps({
    ref: options.ref,
    written: [...written, NEXT_STEPS_FILE],
    needs: workflowNeeds(workflows),
  });
  return [...workflows, ...state, { path: NEXT_STEPS_FILE, content: nextSteps }];
}
