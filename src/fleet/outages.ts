import { preview } from '../core/server-name.js';
import {
  EXAMPLES,
  hoursOf,
  isoOf,
  problem,
  type ProblemExample,
  type ValidationProblem,
} from './data-problems.js';

/**
 * Silence in the data, pure: a fleet-wide collection outage (most servers silent at once) is one
 * problem, not one gap per server; what is left of each server's gaps outside the outages is a
 * gap, or, when long, a server switched off.
 */

/** A server's silence: no sample strictly between its samples at fromMs and toMs. */
export interface Gap {
  server: string;
  fromMs: number;
  toMs: number;
}

/** A server's first and last sample: it is active (expected to report) in between. */
export interface ServerSpan {
  server: string;
  firstMs: number;
  lastMs: number;
}

export interface Outage {
  startMs: number;
  endMs: number;
  /** Servers with a gap overlapping the outage. */
  silent: number;
  /** Servers active across the outage (a sample before it and one after it), at most. */
  active: number;
}

export interface OutagePolicy {
  /** Share of the active servers that must be silent (default 0.5). */
  share: number;
  /** Fewest silent servers that make an outage (default 2). */
  minServers: number;
  /** Shortest outage: the gap limit (gapFactor × interval). */
  minMs: number;
}

/**
 * Sweeps the gaps: an outage is a span in which at least max(minServers, share × active) servers
 * are silent, where active servers are those with a sample before and after the instant; its
 * edges extend while at least half that share stays silent (servers stop and come back over a
 * few minutes, not all at once).
 */
export function findOutages(
  spans: readonly ServerSpan[],
  gaps: readonly Gap[],
  policy: OutagePolicy,
): Outage[] {
  const events: Array<[number, number, number]> = []; // [time, Δactive, Δsilent]
  for (const s of spans) if (s.lastMs > s.firstMs) events.push([s.firstMs, 1, 0], [s.lastMs, -1, 0]);
  for (const g of gaps) events.push([g.fromMs, 0, 1], [g.toMs, 0, -1]);
  events.sort((a, b) => a[0] - b[0]);
  // Constant counts between consecutive event times.
  const segments: Array<{ startMs: number; endMs: number; active: number; silent: number }> = [];
  let active = 0;
  let silent = 0;
  for (let i = 0; i < events.length;) {
    const t = events[i]![0];
    for (; i < events.length && events[i]![0] === t; i++) {
      active += events[i]![1];
      silent += events[i]![2];
    }
    if (i < events.length) segments.push({ startMs: t, endMs: events[i]![0], active, silent });
  }
  // The core needs minServers silent; its edges extend over any silence of share / 2.
  const reaches = (seg: { active: number; silent: number }, share: number, min = 1): boolean =>
    seg.silent > 0 && seg.silent >= Math.max(min, share * seg.active);
  const found: Array<{ startMs: number; endMs: number; active: number }> = [];
  for (let i = 0; i < segments.length; i++) {
    if (!reaches(segments[i]!, policy.share, policy.minServers)) continue;
    let first = i;
    let last = i;
    while (first > 0 && reaches(segments[first - 1]!, policy.share / 2)) first--;
    while (last + 1 < segments.length && reaches(segments[last + 1]!, policy.share / 2)) last++;
    const part = segments.slice(first, last + 1);
    found.push({
      startMs: segments[first]!.startMs,
      endMs: segments[last]!.endMs,
      active: Math.max(...part.map((p) => p.active)),
    });
    i = last;
  }
  return found
    .filter((o) => o.endMs - o.startMs >= policy.minMs)
    .map((o) => ({
      ...o,
      silent: new Set(gaps.filter((g) => g.fromMs < o.endMs && g.toMs > o.startMs).map((g) => g.server)).size,
    }));
}

/** A gap's silence outside every outage (ms). */
export function ownSilence(gap: Gap, outages: readonly Outage[]): number {
  let own = gap.toMs - gap.fromMs;
  for (const o of outages) own -= Math.max(0, Math.min(gap.toMs, o.endMs) - Math.max(gap.fromMs, o.startMs));
  return own;
}

export interface SilencePolicy extends OutagePolicy {
  /** A server silent this long on its own (outside outages) is reported as switched off. */
  offMs: number;
}

/** Outages, gaps and servers switched off, as problems (all warnings: the data stays usable). */
export function silenceProblems(
  spans: readonly ServerSpan[],
  gaps: readonly Gap[],
  policy: SilencePolicy,
): { outages: Outage[]; problems: ValidationProblem[] } {
  const outages = findOutages(spans, gaps, policy);
  const problems: ValidationProblem[] = [];
  if (outages.length > 0) {
    const ranked = [...outages].sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs));
    const describe = (o: Outage): string =>
      `${isoOf(o.startMs).slice(0, 16)} → ${isoOf(o.endMs).slice(0, 16)}, ${hoursOf(o.endMs - o.startMs)} h, ${o.silent} of ${o.active} servers silent`;
    const example = (o: Outage): ProblemExample => ({
      server: null,
      timestamp: isoOf(o.startMs),
      until: isoOf(o.endMs),
      hours: hoursOf(o.endMs - o.startMs),
      value: o.silent,
    });
    problems.push(
      problem({
        check: 'collection_outage',
        severity: 'warning',
        count: outages.length,
        unit: 'outages',
        action: 'missing',
        message:
          `${outages.length} fleet-wide collection outage${outages.length === 1 ? '' : 's'} ` +
          `(at least ${Math.round(policy.share * 100)} % of the active servers silent; longest ${describe(ranked[0]!)}): no samples, ` +
          'the readers see missing data there',
        max: example(ranked[0]!),
        worst: ranked.slice(0, EXAMPLES).map(example),
        examples: ranked.slice(0, EXAMPLES).map(describe),
      }),
    );
  }
  const own = gaps.map((g) => ({ g, own: ownSilence(g, outages) })).filter(({ own }) => own > policy.minMs);
  const short = own.filter((x) => x.own < policy.offMs);
  const long = own.filter((x) => x.own >= policy.offMs);
  const gapExample = ({ g, own }: { g: Gap; own: number }): ProblemExample => ({
    server: g.server,
    timestamp: isoOf(g.fromMs),
    until: isoOf(g.toMs),
    hours: hoursOf(own),
  });
  const render = ({ g, own }: { g: Gap; own: number }): string =>
    `${preview(g.server)}: no samples from ${isoOf(g.fromMs)} to ${isoOf(g.toMs)} (${hoursOf(own)} h${own < g.toMs - g.fromMs ? ' outside outages' : ''})`;
  if (short.length > 0) {
    const ranked = [...short].sort((a, b) => b.own - a.own);
    const servers = new Set(short.map((x) => x.g.server)).size;
    problems.push(
      problem({
        check: 'gaps',
        severity: 'warning',
        count: short.length,
        unit: 'gaps',
        action: 'missing',
        servers,
        message: `${short.length} gaps longer than ${(policy.minMs / 60_000).toFixed(0)} min on ${servers} servers, outside outages (longest ${hoursOf(ranked[0]!.own)} h)`,
        max: gapExample(ranked[0]!),
        worst: ranked.slice(0, EXAMPLES).map(gapExample),
        examples: ranked.slice(0, EXAMPLES).map(render),
      }),
    );
  }
  if (long.length > 0) {
    // One example per server: its longest silence.
    const longest = new Map<string, { g: Gap; own: number }>();
    for (const x of long) if ((longest.get(x.g.server)?.own ?? -1) < x.own) longest.set(x.g.server, x);
    const ranked = [...longest.values()].sort((a, b) => b.own - a.own);
    problems.push(
      problem({
        check: 'switched_off',
        severity: 'warning',
        count: longest.size,
        unit: 'servers',
        action: 'missing',
        servers: longest.size,
        message:
          `${longest.size} servers were silent for ${hoursOf(policy.offMs)} h or more on their own (switched off?), ` +
          `${long.length} times; longest ${preview(ranked[0]!.g.server)} ${hoursOf(ranked[0]!.own)} h`,
        max: gapExample(ranked[0]!),
        worst: ranked.slice(0, EXAMPLES).map(gapExample),
        examples: ranked.slice(0, EXAMPLES).map(render),
      }),
    );
  }
  return { outages, problems };
}
