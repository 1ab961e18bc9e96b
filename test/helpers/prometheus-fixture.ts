// A real Prometheus for tests and benchmarks: synthetic node_exporter series written as OpenMetrics
// text, backfilled with `promtool tsdb create-blocks-from openmetrics`, served by `prometheus` on a
// free local port. Debian's prometheus and promtool (scripts/ensure-deps.mjs installs them as root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mulberry32 as prng } from '../../src/core/seeded-random.js';

export const PROMETHEUS_BIN = process.env.FLEETCAST_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.FLEETCAST_PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Why the real-Prometheus tests cannot run here, or undefined when they can. */
export function prometheusMissing(): string | undefined {
  for (const bin of [PROMETHEUS_BIN, PROMTOOL_BIN])
    if (!existsSync(bin))
      return `${bin} not found: install Debian's prometheus package (apt-get install prometheus; scripts/ensure-deps.mjs does it as root)`;
  return undefined;
}

export interface FixtureInstance {
  /** The `instance` label. */
  instance: string;
  role: string;
  /** Unix seconds of the first and last sample. */
  first: number;
  last: number;
  /** Per scrape: cumulative counters and gauges (index = (t - first) / scrape). */
  idle: Float64Array[]; // per cpu
  user: Float64Array[];
  memTotal: number;
  memAvailable: Float64Array;
  diskRead: Float64Array;
  diskWritten: Float64Array;
  netRx: Float64Array;
  netTx: Float64Array;
}

export interface NodeFixtureOptions {
  /** Regular instances, reporting for the whole span. */
  instances: number;
  /** Span in days, ending at `end`. */
  days: number;
  /** Unix seconds, a multiple of the scrape interval. */
  end: number;
  scrapeSeconds?: number;
  cpus?: number;
  /** Extra instances: one that starts `newHours` before the end, one that stops `goneHours` before it. */
  newHours?: number;
  goneHours?: number;
  /** Instance labels that do not give a safe server name (they must be skipped and counted). */
  unsafe?: string[];
  seed?: number;
}

const ROLES = ['web', 'api', 'database', 'cache', 'batch'];

/** Generates the instances' series (deterministic for a seed). */
export function nodeFixture(options: NodeFixtureOptions): FixtureInstance[] {
  const scrape = options.scrapeSeconds ?? 60;
  const cpus = options.cpus ?? 2;
  const start = options.end - options.days * 86_400;
  const specs: Array<{ instance: string; first: number; last: number }> = [];
  for (let i = 0; i < options.instances; i++)
    specs.push({
      instance: `node-${String(i + 1).padStart(3, '0')}.example.com:9100`,
      first: start,
      last: options.end,
    });
  if (options.newHours !== undefined)
    specs.push({
      instance: 'node-new.example.com:9100',
      first: options.end - options.newHours * 3600,
      last: options.end,
    });
  if (options.goneHours !== undefined)
    specs.push({
      instance: 'node-gone.example.com:9100',
      first: start,
      last: options.end - options.goneHours * 3600,
    });
  for (const instance of options.unsafe ?? []) specs.push({ instance, first: start, last: options.end });
  return specs.map((spec, index) => {
    const rand = prng((options.seed ?? 1) * 1000 + index);
    const n = Math.round((spec.last - spec.first) / scrape) + 1;
    const base = 0.15 + 0.4 * rand();
    const amp = 0.1 + 0.3 * rand();
    const phase = rand() * Math.PI * 2;
    const memTotal = (8 + Math.floor(rand() * 4) * 8) * 2 ** 30;
    const series = (): Float64Array => new Float64Array(n);
    const idle = Array.from({ length: cpus }, series);
    const user = Array.from({ length: cpus }, series);
    const memAvailable = series();
    const diskRead = series();
    const diskWritten = series();
    const netRx = series();
    const netTx = series();
    const counters = {
      idle: idle.map(() => 1e6 + rand() * 1e6),
      user: user.map(() => 1e5 + rand() * 1e5),
      dr: 1e10 * rand() + 1e9,
      dw: 1e10 * rand() + 1e9,
      rx: 1e11 * rand() + 1e9,
      tx: 1e11 * rand() + 1e9,
    };
    for (let k = 0; k < n; k++) {
      const t = spec.first + k * scrape;
      const day = Math.sin((2 * Math.PI * (t % 86_400)) / 86_400 + phase);
      const load = Math.min(0.97, Math.max(0.02, base + amp * day + 0.05 * (rand() - 0.5)));
      if (k > 0) {
        for (let c = 0; c < cpus; c++) {
          const busy = Math.min(0.99, Math.max(0.01, load + 0.04 * (rand() - 0.5)));
          counters.idle[c]! += (1 - busy) * scrape;
          counters.user[c]! += busy * scrape;
        }
        counters.dr += load * 40e6 * scrape * rand();
        counters.dw += load * 20e6 * scrape * rand();
        counters.rx += load * 50e6 * scrape * (0.5 + rand());
        counters.tx += load * 30e6 * scrape * (0.5 + rand());
      }
      for (let c = 0; c < cpus; c++) {
        idle[c]![k] = counters.idle[c]!;
        user[c]![k] = counters.user[c]!;
      }
      memAvailable[k] = Math.round(memTotal * (1 - Math.min(0.95, 0.3 + 0.5 * load)));
      diskRead[k] = Math.round(counters.dr);
      diskWritten[k] = Math.round(counters.dw);
      netRx[k] = Math.round(counters.rx);
      netTx[k] = Math.round(counters.tx);
    }
    return {
      instance: spec.instance,
      role: ROLES[index % ROLES.length]!,
      first: spec.first,
      last: spec.last,
      idle,
      user,
      memTotal,
      memAvailable,
      diskRead,
      diskWritten,
      netRx,
      netTx,
    };
  });
}

const esc = (value: string): string => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"');

/** Writes the instances as OpenMetrics text (families grouped, `# EOF` at the end). */
export async function writeOpenMetrics(
  path: string,
  instances: FixtureInstance[],
  scrape = 60,
): Promise<void> {
  const handle = await open(path, 'w');
  let buffer: string[] = [];
  let size = 0;
  const push = async (line: string): Promise<void> => {
    buffer.push(line);
    size += line.length;
    if (size > 4_000_000) {
      await handle.write(buffer.join('\n') + '\n');
      buffer = [];
      size = 0;
    }
  };
  const family = async (
    name: string,
    type: 'counter' | 'gauge',
    each: (inst: FixtureInstance) => Array<{ labels: string; values: Float64Array | number }>,
  ): Promise<void> => {
    await push(`# TYPE ${name} ${type}`);
    const sample = type === 'counter' ? `${name}_total` : name;
    for (const inst of instances) {
      const common = `instance="${esc(inst.instance)}",job="node",role="${inst.role}"`;
      for (const { labels, values } of each(inst)) {
        const head = `${sample}{${labels}${labels ? ',' : ''}${common}} `;
        const n = Math.round((inst.last - inst.first) / scrape) + 1;
        for (let k = 0; k < n; k++) {
          const v = typeof values === 'number' ? values : values[k]!;
          await push(`${head}${v} ${inst.first + k * scrape}`);
        }
      }
    }
  };
  await family('node_cpu_seconds', 'counter', (inst) => [
    ...inst.idle.map((values, c) => ({ labels: `cpu="${c}",mode="idle"`, values })),
    ...inst.user.map((values, c) => ({ labels: `cpu="${c}",mode="user"`, values })),
  ]);
  await family('node_memory_MemTotal_bytes', 'gauge', (inst) => [{ labels: '', values: inst.memTotal }]);
  await family('node_memory_MemAvailable_bytes', 'gauge', (inst) => [
    { labels: '', values: inst.memAvailable },
  ]);
  await family('node_disk_read_bytes', 'counter', (inst) => [
    { labels: 'device="sda"', values: inst.diskRead },
  ]);
  await family('node_disk_written_bytes', 'counter', (inst) => [
    { labels: 'device="sda"', values: inst.diskWritten },
  ]);
  await family('node_network_receive_bytes', 'counter', (inst) => [
    { labels: 'device="eth0"', values: inst.netRx },
  ]);
  await family('node_network_transmit_bytes', 'counter', (inst) => [
    { labels: 'device="eth0"', values: inst.netTx },
  ]);
  await push('# EOF');
  await handle.write(buffer.join('\n') + '\n');
  await handle.close();
}

/**
 * What the shipped node_exporter mapping's PromQL gives at `t` (a multiple of 5 minutes) for a
 * series scraped every minute, aligned: Prometheus 2.x range selectors are closed, [t−5m, t], so
 * rate() sees 6 samples spanning the whole window and no extrapolation happens: (c(t) − c(t−5m)) /
 * 300 s. Only for t at least 5 minutes after the first sample and not after the last one.
 */
export function expectedRow(inst: FixtureInstance, t: number, scrape = 60): Record<string, number> | null {
  const k = Math.round((t - inst.first) / scrape);
  const back = Math.round(300 / scrape);
  if (k - back < 0 || t > inst.last) return null;
  const rate = (values: Float64Array): number => (values[k]! - values[k - back]!) / 300;
  const idle = inst.idle.reduce((sum, values) => sum + rate(values), 0) / inst.idle.length;
  return {
    cpu_pct: 100 * (1 - idle),
    mem_pct: 100 * (1 - inst.memAvailable[k]! / inst.memTotal),
    disk_io_mbps: (rate(inst.diskRead) + rate(inst.diskWritten)) / 1e6,
    net_in_mbps: (rate(inst.netRx) * 8) / 1e6,
    net_out_mbps: (rate(inst.netTx) * 8) / 1e6,
  };
}

/** Backfills `omFile` into `dataDir` with promtool (blocks of up to 10 days: fast). */
export function backfill(omFile: string, dataDir: string): void {
  const result = spawnSync(
    PROMTOOL_BIN,
    ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=240h', omFile, dataDir],
    { encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(`promtool failed (${result.status ?? result.signal}): ${result.stderr.slice(-2000)}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts prometheus on a free 127.0.0.1 port over `dataDir` (no scrape targets, retention long
 * enough for backfilled data) in its own process group; waits for /-/ready.
 */
export async function startPrometheus(workDir: string, dataDir: string): Promise<RunningPrometheus> {
  const config = join(workDir, 'prometheus.yml');
  await mkdir(workDir, { recursive: true });
  await writeFile(config, 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dataDir}`,
      '--storage.tsdb.retention.time=36500d',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 60 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, port, stop };
}
