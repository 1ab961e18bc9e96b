import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { FleetcastError, InputError } from '../core/errors.js';

/** Counts of predictions made for servers outside the model's vocabulary, over some window. */
export interface UnknownCounts {
  unknown: number;
  total: number;
  /** Where the counts came from, for the report. */
  source: string;
}

/** A source of unknown-prediction counts: a file today, the inference service's /status, or more. */
export interface UnknownCountSource {
  readonly description: string;
  read(): Promise<UnknownCounts>;
}

const Counts = z
  .object({ unknown: z.number().int().min(0), total: z.number().int().min(0) })
  .refine((c) => c.unknown <= c.total, { message: 'unknown must be ≤ total', path: ['unknown'] });

function describe(where: string, error: z.ZodError): string {
  return error.issues.map((i) => `${where}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** `--unknown-counts FILE`: `{"unknown": n, "total": n}` (other keys are ignored). */
export class FileUnknownCounts implements UnknownCountSource {
  readonly description: string;
  constructor(private readonly path: string) {
    this.description = `file ${path}`;
  }
  async read(): Promise<UnknownCounts> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(this.path, 'utf8'));
    } catch (error) {
      throw new InputError(
        `${this.path}: cannot read unknown-prediction counts: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const parsed = Counts.safeParse(json);
    if (!parsed.success) throw new InputError(describe(this.path, parsed.error));
    return { ...parsed.data, source: this.description };
  }
}

const ServiceStatus = z.object({
  unknown_predictions: z.object({
    unknown: z.number().int().min(0),
    total: z.number().int().min(0),
    window_seconds: z.number().optional(),
  }),
});

/** `--service-url URL`: the inference service's GET URL/status, field `unknown_predictions`. */
export class ServiceUnknownCounts implements UnknownCountSource {
  readonly description: string;
  private readonly statusUrl: URL;
  constructor(
    baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new InputError(`--service-url: not a URL: ${JSON.stringify(baseUrl.slice(0, 200))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InputError(`--service-url: must be http or https, got ${url.protocol}`);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/status`;
    url.username = '';
    url.password = '';
    this.statusUrl = url;
    this.description = `service ${url.toString()}`;
  }
  async read(): Promise<UnknownCounts> {
    let response: Response;
    try {
      response = await fetch(this.statusUrl, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      throw new FleetcastError(
        `${this.description}: request failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!response.ok) throw new FleetcastError(`${this.description}: HTTP ${response.status}`);
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new FleetcastError(`${this.description}: response is not JSON`);
    }
    const parsed = ServiceStatus.safeParse(json);
    if (!parsed.success) throw new FleetcastError(describe(this.description, parsed.error));
    const { unknown, total, window_seconds } = parsed.data.unknown_predictions;
    if (unknown > total)
      throw new FleetcastError(`${this.description}: unknown (${unknown}) > total (${total})`);
    const window = window_seconds === undefined ? '' : ` over ${window_seconds}s`;
    return { unknown, total, source: `${this.description}${window}` };
  }
}
