// `npm run bench -- drift [--sizes 100,1000,10000] [--days 30] [--repeat 3] [--work-dir DIR] [--json]`
// For each fleet size: generate the fleet (timed, rows/s), then time `runDriftCheck` (what
// `fleetcast drift` runs) against the raw DuckDB aggregate over the same file, both in fresh
// child processes so peak memory (max RSS) is per task. Times are medians of --repeat runs after
// one warm-up. Raw and drift runs alternate in one process, so both see the same machine load;
// the ratio compares their medians (wall clock, and process CPU time, steadier under load).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateFleet } from '../src/synthetic/generator.js';
import { withDuckDb, sqlString } from '../src/metrics/duckdb.js';
import { runDriftCheck } from '../src/drift/check.js';
import { DEFAULT_RETRAIN_CONFIG } from '../src/config/retrain-config.js';

const END = new Date('2026-11-20T00:00:00Z');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

interface ChildResult {
  wall: Record<'raw' | 'drift', number[]>;
  cpu: Record<'raw' | 'drift', number[]>;
  max_rss_mb: number;
}

interface SizeResult {
  servers: number;
  rows: number;
  generate_seconds: number | null;
  generate_rows_per_second: number | null;
  parquet_mb: number;
  raw_seconds: number;
  drift_seconds: number;
  ratio: number;
  raw_cpu_seconds: number;
  drift_cpu_seconds: number;
  cpu_ratio: number;
  drift_rows_per_second: number;
  raw_max_rss_mb: number;
  drift_max_rss_mb: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '100,1000,10000' },
      days: { type: 'string', default: '30' },
      repeat: { type: 'string', default: '3' },
      'work-dir': { type: 'string', default: join(tmpdir(), 'fleetcast-bench-drift') },
      json: { type: 'boolean', default: false },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const days = Number(values.days);
  const repeat = Number(values.repeat);
  await mkdir(values['work-dir'], { recursive: true });
  const loadStart = loadavg()[0]!;
  const results: SizeResult[] = [];
  for (const servers of sizes) {
    const parquet = join(values['work-dir'], `fleet-${servers}x${days}d.parquet`);
    const modelList = `${parquet}.model.txt`;
    let generateSeconds: number | null = null;
    let rows: number;
    if (existsSync(parquet) && existsSync(modelList)) {
      say(`reusing ${parquet}`);
      rows = (JSON.parse(await readFile(`${parquet}.bench.json`, 'utf8')) as { rows: number }).rows;
    } else {
      say(`generating ${servers} servers × ${days} days …`);
      const fleet = await generateFleet({
        servers,
        days,
        out: parquet,
        seed: 1,
        end: END,
        add: Math.ceil(servers / 50),
        sunset: Math.ceil(servers / 60),
      });
      generateSeconds = fleet.seconds;
      rows = fleet.rows;
      // The model knows the base fleet: added servers are new, sunset ones drift out.
      const known = fleet.plan.servers.filter((s) => s.kind !== 'added').map((s) => s.name);
      await writeFile(modelList, `${known.join('\n')}\n`);
      await writeFile(`${parquet}.bench.json`, JSON.stringify({ rows }));
      say(
        `  ${rows.toLocaleString('en-US')} rows in ${fleet.seconds.toFixed(1)} s (${Math.round(rows / fleet.seconds).toLocaleString('en-US')} rows/s)`,
      );
    }
    const timing = child('timing', parquet, modelList, repeat);
    const rawS = median(timing.wall.raw);
    const driftS = median(timing.wall.drift);
    const rawCpu = median(timing.cpu.raw);
    const driftCpu = median(timing.cpu.drift);
    const raw = child('raw', parquet, modelList, 1);
    const drift = child('drift', parquet, modelList, 1);
    const { size } = await import('node:fs').then((fs) => fs.statSync(parquet));
    const result: SizeResult = {
      servers,
      rows,
      generate_seconds: generateSeconds === null ? null : round(generateSeconds),
      generate_rows_per_second: generateSeconds === null ? null : Math.round(rows / generateSeconds),
      parquet_mb: Math.round(size / 1e6),
      raw_seconds: round(rawS),
      drift_seconds: round(driftS),
      ratio: round(driftS / rawS),
      raw_cpu_seconds: round(rawCpu),
      drift_cpu_seconds: round(driftCpu),
      cpu_ratio: round(driftCpu / rawCpu),
      drift_rows_per_second: Math.round(rows / driftS),
      raw_max_rss_mb: raw.max_rss_mb,
      drift_max_rss_mb: drift.max_rss_mb,
    };
    say(
      `  raw GROUP BY ${rawS.toFixed(3)} s, drift ${driftS.toFixed(3)} s, ratio ${result.ratio} ` +
        `(CPU ${rawCpu.toFixed(2)} s vs ${driftCpu.toFixed(2)} s, ratio ${result.cpu_ratio}), peak RSS ${drift.max_rss_mb} MB`,
    );
    results.push(result);
  }
  const output = {
    days,
    repeat,
    load_average_start: round(loadStart),
    load_average_end: round(loadavg()[0]!),
    results,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  else {
    process.stdout.write(
      '| servers | rows | generate (s) | generate rows/s | raw GROUP BY (s) | drift (s) | ratio | CPU raw (s) | CPU drift (s) | CPU ratio | drift rows/s | peak RSS drift (MB) | peak RSS raw (MB) |\n',
    );
    process.stdout.write('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
    for (const r of results)
      process.stdout.write(
        `| ${r.servers.toLocaleString('en-US')} | ${r.rows.toLocaleString('en-US')} | ${r.generate_seconds ?? '-'} | ${r.generate_rows_per_second?.toLocaleString('en-US') ?? '-'} | ${r.raw_seconds} | ${r.drift_seconds} | ${r.ratio} | ${r.raw_cpu_seconds} | ${r.drift_cpu_seconds} | ${r.cpu_ratio} | ${r.drift_rows_per_second.toLocaleString('en-US')} | ${r.drift_max_rss_mb} | ${r.raw_max_rss_mb} |\n`,
      );
    process.stdout.write(
      `load average ${output.load_average_start} at start, ${output.load_average_end} at end\n`,
    );
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Runs one task (raw aggregate or drift check) 1 + repeat times in a fresh process. */
function child(
  task: 'raw' | 'drift' | 'timing',
  parquet: string,
  modelList: string,
  repeat: number,
): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', self, '--child', task, parquet, modelList, String(repeat)],
    {
      encoding: 'utf8',
      env: { ...process.env, FLEETCAST_LOG_LEVEL: 'error' },
    },
  );
  if (result.status !== 0) throw new Error(`bench child ${task} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ChildResult;
}

async function rawAggregate(parquet: string): Promise<number> {
  return withDuckDb(async (conn) => {
    const reader = await conn.runAndReadAll(
      `SELECT server_name, max(timestamp), min(timestamp), count(*) FROM read_parquet(${sqlString(parquet)}) GROUP BY server_name`,
    );
    return reader.getRows().length;
  });
}

async function driftCheck(parquet: string, modelList: string): Promise<number> {
  const report = await runDriftCheck({
    metrics: parquet,
    modelServers: modelList,
    now: END,
    config: { config: DEFAULT_RETRAIN_CONFIG, source: 'defaults' },
    events: null,
  });
  return report.fleet.total;
}

/**
 * `timing`: raw and drift alternate in one process (so both see the same machine load), each
 * timed by wall clock and by process CPU time. `raw` / `drift`: one task alone, for peak RSS.
 */
async function childMain(task: string, parquet: string, modelList: string, repeat: number): Promise<void> {
  const wall: Record<string, number[]> = { raw: [], drift: [] };
  const cpu: Record<string, number[]> = { raw: [], drift: [] };
  const tasks = task === 'timing' ? (['raw', 'drift'] as const) : ([task] as const);
  for (let i = 0; i <= repeat; i++) {
    for (const t of tasks) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await (t === 'raw' ? rawAggregate(parquet) : driftCheck(parquet, modelList));
      const c = process.cpuUsage(c0);
      if (i === 0) continue; // the first round warms the page cache
      wall[t]!.push((performance.now() - t0) / 1000);
      cpu[t]!.push((c.user + c.system) / 1e6);
    }
  }
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify({ wall, cpu, max_rss_mb: maxRssMb }));
}

if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [, , , task, parquet, modelList, repeat] = process.argv;
  await childMain(task!, parquet!, modelList!, Number(repeat));
}
