import type { EventLog } from '../core/events-log.js';
import type { RunningService } from '../service/run.js';
import type { DemoOutput, StepRunner } from './steps.js';
import type { DemoTimeline } from './timeline.js';
import type { DemoWorkspace } from './workspace.js';

/** What every stage of the demo works with: its workspace, story clock, output and steps. */
export interface DemoContext {
  out: DemoOutput;
  steps: StepRunner;
  clock: () => Date;
  timeline: DemoTimeline;
  ws: DemoWorkspace;
  /** The operator clone's model registry and fleet manifest (absolute paths). */
  registry: string;
  manifestPath: string;
  events: EventLog;
  /** The inference service once started; runDemo closes it when a later stage fails. */
  service: RunningService | null;
}

/** Generated metrics: the full window, and the store as it was at t0 (the first model's data). */
export interface DemoMetrics {
  full: string;
  asOfT0: string;
}

/** The service deadline for a hot swap, and how often the service polls the GitOps remote. */
export const SWAP_TIMEOUT_MS = 120_000;
export const GIT_POLL_MS = 1_000;
