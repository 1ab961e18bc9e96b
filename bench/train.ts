// `npm run bench -- train [--servers 400] [--days 30] [--profile default] [--epochs N] [--seed S] [--work-dir DIR] [--trainer-output DIR] [--peers] [--json]`
// The whole `fleetcast train` pipeline on a generated fleet: dataset build time, seconds per epoch
// and total, then the held-out q-risk table (P50/P90 per target, model vs one-day seasonal naive,
// known vs unknown servers) from the validation report. Gates are reported, not enforced, so the
// numbers come out whatever they are. `--trainer-output DIR` scores a model trained elsewhere (the GPU
// runner, scripts/gpu-runner-check.sh) on this same generated dataset instead of training here.
// `--peers` also fits the peer forecasters (gbm, ets, qnaive: docs/peers.md, minutes on 2 cores) on
// the same windows and adds their q-risk, the best peer and TFT / best peer to the table.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderManifest } from '../src/fleet/manifest.js';
import { generateFleet } from '../src/synthetic/generator.js';
import { trainModel } from '../src/train/pipeline.js';
import { GateConfig, REPORT_ONLY_ACCURACY_GATES } from '../src/validate/gates.js';
import { PEER_NAMES } from '../src/validate/peer-request.js';
import { findScore, type ScoreGroup } from '../src/validate/scoring.js';

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const r = (v: number | null | undefined, d = 3): string =>
  v === null || v === undefined ? '-' : v.toFixed(d);

function parseDevice(value: string): 'auto' | 'cpu' | 'cuda' {
  if (value === 'auto' || value === 'cpu' || value === 'cuda') return value;
  throw new Error(`--device must be auto, cpu or cuda, not ${value}`);
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: 'string', default: '400' },
      days: { type: 'string', default: '30' },
      profile: { type: 'string', default: 'default' },
      epochs: { type: 'string' },
      seed: { type: 'string', default: '0' },
      'work-dir': { type: 'string' },
      'trainer-output': { type: 'string' },
      device: { type: 'string' },
      peers: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const servers = Number(values.servers);
  const days = Number(values.days);
  const dir = values['work-dir'] ?? (await mkdtemp(join(tmpdir(), 'fleetcast-bench-train-')));
  const load = { start: loadavg().map((v) => Math.round(v * 100) / 100), end: [] as number[] };
  try {
    const t0 = performance.now();
    const parquet = join(dir, 'metrics.parquet');
    const end = new Date(Math.floor(Date.UTC(2026, 10, 20) / 300_000) * 300_000);
    const fleet = await generateFleet({ servers, days, out: parquet, end, seed: 11 });
    const generateSeconds = (performance.now() - t0) / 1000;
    say(
      `bench train: generated ${fleet.rows} rows for ${fleet.servers} servers in ${generateSeconds.toFixed(1)}s`,
    );
    const manifest = join(dir, 'manifest.json');
    await writeFile(
      manifest,
      renderManifest({
        format_version: 1,
        servers: fleet.plan.servers
          .map((s) => ({
            name: s.name,
            profile: s.profile,
            first_seen: fleet.plan.start.toISOString().slice(0, 10),
          }))
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
      }),
    );
    const outcome = await trainModel({
      metrics: parquet,
      manifest,
      registry: join(dir, 'registry'),
      profile: values.profile,
      seed: Number(values.seed),
      ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
      days,
      work: join(dir, 'work'),
      validate: true,
      ...(values['trainer-output'] ? { trainerOutput: values['trainer-output'] } : {}),
      ...(values.device ? { device: parseDevice(values.device) } : {}),
      gates: REPORT_ONLY_ACCURACY_GATES,
      ...(values.peers ? { peers: PEER_NAMES } : {}),
      progress: say,
    });
    load.end = loadavg().map((v) => Math.round(v * 100) / 100);
    const info = outcome.trainingInfo;
    const report = outcome.validation!;
    const acc = report.accuracy!;
    const epochSeconds = info.epochs.map((e) => e.seconds ?? 0);
    const peers = acc.peers.filter((p) => p.status === 'scored').map((p) => p.peer);
    for (const p of acc.peers)
      if (p.status !== 'scored') say(`bench train: peer ${p.peer} ${p.status}: ${p.note}`);
    const rows = report.targets.flatMap((target) =>
      [0.5, 0.9].map((q) => {
        const get = (model: string, group: ScoreGroup) =>
          findScore(acc.scores, model, group, target, q)?.q_risk ?? null;
        const model = get('model', 'all');
        const naive = get('seasonal_naive', 'all');
        const known = get('model', 'known');
        const unknown = get('model', 'unknown');
        const knownMatched = get('model', 'known_profile_matched');
        const unknownMatched = get('model', 'unknown_profile_matched');
        const peerScores = Object.fromEntries(peers.map((p) => [p, get(p, 'all')]));
        const best = peers
          .filter((p) => peerScores[p] !== null)
          .sort((a, b) => peerScores[a]! - peerScores[b]!)[0];
        const bestScore = best === undefined ? null : peerScores[best]!;
        return {
          target,
          quantile: q,
          model,
          seasonal_naive: naive,
          improvement_vs_naive: model !== null && naive ? 1 - model / naive : null,
          known,
          unknown,
          unknown_over_known: unknown !== null && known ? unknown / known : null,
          known_same_profiles: knownMatched,
          unknown_same_profiles: unknownMatched,
          unknown_over_known_same_profiles:
            unknownMatched !== null && knownMatched ? unknownMatched / knownMatched : null,
          peers: peerScores,
          best_peer: best ?? null,
          model_over_best_peer: model !== null && bestScore ? model / bestScore : null,
        };
      }),
    );
    const result = {
      machine: { cpus: cpus().length, loadavg_start: load.start, loadavg_end: load.end },
      fleet: {
        servers: info.data.fleet_size,
        holdout: info.data.holdout_servers.length,
        days,
        rows: fleet.rows,
      },
      profile: info.profile,
      seconds: {
        generate: generateSeconds,
        dataset: info.durations_seconds.dataset,
        trainer_total: info.durations_seconds.trainer,
        training_loop: info.durations_seconds.trainer_train_seconds ?? null,
        validation: info.durations_seconds.validation,
        pipeline_total: info.durations_seconds.total,
        per_epoch_mean: epochSeconds.reduce((a, b) => a + b, 0) / Math.max(epochSeconds.length, 1),
        per_epoch: epochSeconds,
      },
      epochs: info.epochs.length,
      best_epoch: info.best_epoch,
      stopped_by: (info.metrics.convergence as { stopped_by?: string } | undefined)?.stopped_by ?? null,
      windows: acc.windows,
      peers: acc.peers,
      coverage_percent: report.coverage.percent,
      accuracy: rows,
      gates_at_defaults: GateConfig.parse({}),
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const s = result.seconds;
    process.stdout.write(
      [
        `fleet: ${result.fleet.servers} servers (${result.fleet.holdout} holdout) x ${days} days, ${result.fleet.rows} rows; profile ${result.profile}; ${result.machine.cpus} CPUs, load ${load.start.join('/')} -> ${load.end.join('/')}`,
        `dataset build ${r(s.dataset, 1)} s; trainer ${r(s.trainer_total, 1)} s (loop ${r(s.training_loop, 1)} s); ${result.epochs} epochs, mean ${r(s.per_epoch_mean, 1)} s/epoch (best ${result.best_epoch}, stopped by ${result.stopped_by}); validation ${r(s.validation, 1)} s; pipeline total ${r(s.pipeline_total, 1)} s`,
        `coverage ${result.coverage_percent}%; held-out forecasts: ${acc.windows.known} known, ${acc.windows.unknown} unknown`,
        '',
        `| target | q | TFT q-risk | seasonal naive | TFT better by | known | unknown | unknown / known | known, same profiles | unknown / known, same profiles |${peers.map((p) => ` ${p} |`).join('')}${peers.length ? ' best peer | TFT / best peer |' : ''}`,
        `|---|---|---|---|---|---|---|---|---|---|${'---|'.repeat(peers.length ? peers.length + 2 : 0)}`,
        ...rows.map(
          (x) =>
            `| ${x.target} | P${Math.round(x.quantile * 100)} | ${r(x.model, 4)} | ${r(x.seasonal_naive, 4)} | ${x.improvement_vs_naive === null ? '-' : `${(x.improvement_vs_naive * 100).toFixed(1)} %`} | ${r(x.known, 4)} | ${r(x.unknown, 4)} | ${r(x.unknown_over_known, 2)} | ${r(x.known_same_profiles, 4)} | ${r(x.unknown_over_known_same_profiles, 2)} |` +
            peers.map((p) => ` ${r(x.peers[p], 4)} |`).join('') +
            (peers.length ? ` ${x.best_peer ?? '-'} | ${r(x.model_over_best_peer, 3)} |` : ''),
        ),
        '',
      ].join('\n'),
    );
  } finally {
    if (!values['work-dir']) await rm(dir, { recursive: true, force: true });
  }
}
