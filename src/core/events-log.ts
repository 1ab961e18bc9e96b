import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The retraining events log (the design's logs/retraining_events.json): one JSON object per line,
 * `{"timestamp", "event", "data"}`, appended, never rewritten, so `tail -f` and `jq` work on it.
 */
export const EVENT_TYPES = [
  'drift_check',
  'retrain_triggered',
  'manifest_updated',
  'manifest_unchanged',
  'candidate_evaluated',
  /** fleetcast live-check: the live regression decision (keep or revert) with its numbers. */
  'live_check',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface RetrainEvent {
  timestamp: string;
  event: EventType;
  data: Record<string, unknown>;
}

export function renderEvent(event: RetrainEvent): string {
  return `${JSON.stringify({ timestamp: event.timestamp, event: event.event, data: event.data })}\n`;
}

/** Where events go; `null` path disables logging (`--no-events`). */
export class EventLog {
  constructor(
    readonly path: string | null,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends the events with one write, so lines from concurrent writers do not interleave mid-line. */
  async append(...events: Array<{ event: EventType; data: Record<string, unknown> }>): Promise<void> {
    if (this.path === null || events.length === 0) return;
    const timestamp = this.clock().toISOString();
    const text = events.map((e) => renderEvent({ timestamp, ...e })).join('');
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, text, { encoding: 'utf8', mode: 0o644 });
  }
}

/** Parses a log's text back into events (for tests and tools); bad lines name their number. */
export function parseEvents(text: string, where: string): RetrainEvent[] {
  return text
    .split('\n')
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => line.trim() !== '')
    .map(([line, number]) => {
      try {
        const value = JSON.parse(line) as RetrainEvent;
        if (typeof value.timestamp !== 'string' || typeof value.event !== 'string')
          throw new Error('missing timestamp or event');
        return value;
      } catch (error) {
        throw new Error(
          `${where}:${number}: bad event line: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
}
