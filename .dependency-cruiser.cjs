/**
 * The layers of src/, bottom to top (docs/architecture.md draws the same picture). A folder may
 * import folders of lower layers only: never a higher layer, never a sibling of its own layer.
 * `npm test` runs this check; an upward import fails CI.
 */
const LAYERS = [
  ['core'],
  ['metrics', 'registry', 'forge'],
  ['fleet'],
  ['config', 'features', 'synthetic'],
  ['dataset', 'model'],
  ['drift', 'validate'],
  ['train', 'service', 'gitops'],
  ['actions', 'demo', 'adopt'],
  ['cli'],
];

const alternation = (folders) => `^src/(${folders.join('|')})/`;

const layerRules = LAYERS.flatMap((layer, index) => {
  const above = LAYERS.slice(index + 1).flat();
  return layer.map((folder) => ({
    name: `layer-${folder}`,
    comment: `src/${folder}/ may import only layers below it (see docs/architecture.md)`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: alternation([...above, ...layer.filter((f) => f !== folder)]) },
  }));
});

/**
 * Inside src/service/ (docs/service.md, "Code layout"): worker/ hosts model sessions, serving/
 * forecasts and swaps, http/ answers requests, follow/ notices pointer changes, and run.ts alone
 * wires them together. serving-model.ts is the model contract that serving/ and worker/ share.
 */
const SERVICE_RULES = [
  [
    'worker',
    'worker/ hosts model sessions and knows nothing of serving or HTTP',
    ['serving', 'http', 'follow', 'blue-green'],
  ],
  [
    'serving',
    'serving/ forecasts without HTTP: it never imports http/, follow/ or blue-green/',
    ['http', 'follow', 'blue-green'],
  ],
  ['http', 'http/ reaches models only through serving/', ['worker', 'follow', 'blue-green']],
  ['follow', 'follow/ only reports that something changed', ['serving', 'http', 'worker', 'blue-green']],
  [
    'blue-green',
    'blue-green/ drives instances from outside (processes, HTTP): only the response schemas of serving/ and http/',
    ['worker', 'follow'],
  ],
].map(([folder, comment, forbidden]) => ({
  name: `service-${folder}`,
  comment,
  severity: 'error',
  from: { path: `^src/service/${folder}/` },
  to: { path: [`^src/service/(${forbidden.join('|')})/`, '^src/service/run\\.ts$'] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    ...SERVICE_RULES,
    {
      name: 'service-run-blue-green',
      comment: 'run.ts starts one instance; blue-green/ drives instances from outside and is not part of one',
      severity: 'error',
      from: { path: '^src/service/run\\.ts$' },
      to: { path: '^src/service/blue-green/' },
    },
    {
      name: 'service-model-contract',
      comment:
        'src/service/serving-model.ts is the contract between serving/ and worker/: it imports neither',
      severity: 'error',
      from: { path: '^src/service/serving-model\\.ts$' },
      to: { path: '^src/service/' },
    },
    {
      name: 'known-folder',
      comment: 'every folder of src/ has a layer; add a new one to LAYERS',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: alternation(LAYERS.flat()) },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles between files',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts|bench)/' },
    },
    {
      name: 'entrypoints-stay-thin',
      comment: 'actions/<name>/ entrypoints only call run() from src/actions',
      severity: 'error',
      from: { path: '^actions/[^/]+/index\\.ts$' },
      to: { path: '^src/', pathNot: '^src/actions/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/|node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
