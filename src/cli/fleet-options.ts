import { InvalidArgumentError, Option } from 'commander';

/** Option parsers shared by the commands that read metrics. */

/** What `--now` means, the same on every command that evaluates data as of a time. */
export const NOW_HELP =
  'evaluate as of this time: later samples are ignored, ages and windows are measured from it (default: the wall clock)';

/** `--now <iso>`: one name, one parser and one meaning across commands (README.md, "Command line"). */
export function nowOption(): Option {
  return new Option('--now <iso>', NOW_HELP).argParser(parseInstant);
}

/** `--now 2026-11-20T00:00:00Z`: an ISO 8601 instant with a zone (Z or ±hh:mm) or a plain date (UTC). */
export function parseInstant(text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
  if (!iso.test(text))
    throw new InvalidArgumentError(
      'expected an ISO 8601 time with a zone, like 2026-11-20T00:00:00Z, or a date',
    );
  const date = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('not a valid date');
  return date;
}

export function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

export function parsePositiveNumber(text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0))
    throw new InvalidArgumentError('expected a positive number');
  return value;
}

/** `--metric-set`: one option, one meaning, on every command that reads metric values. */
export const METRIC_SET_OPTION = '--metric-set <file>';
export const METRIC_SET_HELP =
  'the metric set: targets, covariates, profile column (default: config/metric_set.json when present, else the default targets the metrics have; docs/metrics.md)';

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  unexpected failure (I/O, a bug)
  2  bad input (usage, config, metrics, server names); nothing was written`;

/**
 * `--peers [names]` on validate and train: also fit and score the peer forecasters
 * (docs/peers.md) on the held-out windows; the flag alone means all of them.
 */
export const PEERS_OPTION = '--peers [names]';
export const PEERS_HELP =
  'also fit and score peer forecasters on the same held-out windows: comma-separated gbm,ets,qnaive (the flag alone: all three; takes minutes)';
