import ms from 'ms';
import { InputError } from './errors.js';

const BARE_NUMBER = /^\d+(\.\d+)?$/;

/**
 * Parses a duration such as `250ms`, `30s`, `5m`, `1h`, `7d` or `1.5 hours` (the `ms` package's
 * format) into milliseconds. A bare number is seconds, unlike `ms`, where it would be milliseconds.
 */
export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  const withUnit = BARE_NUMBER.test(trimmed) ? `${trimmed}s` : trimmed;
  // ms() returns undefined for text it cannot parse (its types promise a number for any StringValue)
  const value: number | undefined = withUnit === '' ? undefined : ms(withUnit as ms.StringValue);
  if (value === undefined || Number.isNaN(value))
    throw new InputError(`${option}: invalid duration ${JSON.stringify(text)} (examples: 30s, 5m, 1h, 7d)`);
  if (!(value > 0)) throw new InputError(`${option}: duration must be positive`);
  return value;
}
