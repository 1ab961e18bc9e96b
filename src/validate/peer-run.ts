import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic-write.js';
import { getErrorMessage } from '../core/errors.js';
import { runPythonModule } from '../core/python.js';
import type { Dataset } from '../dataset/format.js';
import type { Encoders } from '../registry/schemas.js';
import { readPeerForecasts, type PeerExpectation, type PeerForecasts } from './peer-forecasts.js';
import {
  PEER_REQUEST_FILE,
  peerRequest,
  type HeldOutLayout,
  type PeerName,
  type PeerRequest,
} from './peer-request.js';

/** What became of one requested peer (validation.json `accuracy.peers`). */
export interface PeerOutcome {
  peer: PeerName;
  /** scored: compared on the model's points; failed: its process or its output failed; left_out: see note. */
  status: 'scored' | 'failed' | 'left_out';
  /** Wall seconds of its process (null when it could not start). */
  seconds: number | null;
  /** Why it failed or was left out (the error names the peer); null when scored. */
  note: string | null;
}

export interface PeerRun {
  forecasts: PeerForecasts[];
  outcomes: PeerOutcome[];
}

export interface PeerRunOptions {
  peers: readonly PeerName[];
  /** The dataset directory the peers read (dataset.json + dataset.f32); the request is written into it. */
  datasetDir: string;
  /** Each peer writes into `<outDir>/<peer>/`. */
  outDir: string;
  seed?: number;
  /** Worker processes per peer (default: the peers' own, every core). */
  threads?: number;
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
}

/**
 * Runs each peer in its own `python -m fleetcast_trainer.peers` process, one after the other, so
 * that one peer's failure (a missing module, a crash) names that peer and leaves the others
 * scored. Writes `peer_request.json` into the dataset directory first. Never throws for a peer:
 * a failure becomes its outcome, with the reason; the caller decides what a missing peer means.
 */
export async function runPeers(
  options: PeerRunOptions,
  request: PeerRequest,
  expect: PeerExpectation,
): Promise<PeerRun> {
  const say = options.progress ?? (() => {});
  await writeJsonAtomic(join(options.datasetDir, PEER_REQUEST_FILE), request);
  const forecasts: PeerForecasts[] = [];
  const outcomes: PeerOutcome[] = [];
  const n = options.peers.length;
  for (const [i, peer] of options.peers.entries()) {
    const out = join(options.outDir, peer);
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    say(`validate: peer ${peer} (${i + 1}/${n}): started, fitting on steps before ${request.fit_end_step}`);
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    try {
      const args = ['--input', options.datasetDir, '--out', out, '--peers', peer, '--json'];
      args.push('--seed', String(options.seed ?? 0));
      if (options.threads !== undefined) args.push('--threads', String(options.threads));
      await runPythonModule({
        module: 'fleetcast_trainer.peers',
        args,
        name: `peer ${peer}`,
        ...(options.env ? { env: options.env } : {}),
        onStderr: (line) => {
          // The peer's own steps (models fitted, series done); start and finish are said here.
          if (line.startsWith(`peers: ${peer}: `) && !/: (start|done in .*)$/.test(line))
            say(`validate: ${line}`);
        },
      });
      forecasts.push(await readPeerForecasts(out, peer, expect));
      outcomes.push({ peer, status: 'scored', seconds: seconds(), note: null });
      say(`validate: peer ${peer} (${i + 1}/${n}): done in ${seconds().toFixed(1)}s`);
    } catch (error) {
      const message = getErrorMessage(error);
      const reason = message.split('\n')[0]!;
      outcomes.push({
        peer,
        status: 'failed',
        seconds: seconds(),
        note: reason.startsWith(`peer ${peer}`) ? reason : `peer ${peer}: ${reason}`,
      });
      say(`validate: peer ${peer} (${i + 1}/${n}): FAILED after ${seconds().toFixed(1)}s: ${message}`);
    }
  }
  return { forecasts, outcomes };
}

/**
 * The peer step of evaluateHeldOut for `dataset` (written in `datasetDir`) and the scored model:
 * given the held-out layout, the request (peer-request.ts) and what the forecasts must match.
 */
export function peerRunner(
  options: PeerRunOptions,
  dataset: Dataset,
  encoders: Encoders,
): (layout: HeldOutLayout) => Promise<PeerRun> {
  return (layout) =>
    runPeers(options, peerRequest(dataset.header, encoders, layout), {
      servers: dataset.header.servers.map((s) => s.name),
      origins: layout.origins,
      targets: encoders.targets,
      quantiles: encoders.quantiles,
      horizon: encoders.horizon_steps,
    });
}
