// `npm run bench -- dashboard [--servers 10000] [--baseline 400] [--runs 5] [--json]`
// The dashboard at fleet scale: time to first render of the fleet table in headless Chromium
// (navigation start → the table shows its rows, the `fleet-rendered` mark of dashboard.js) with
// this cycle's table built (warm), right after a new window cycle (the previous cycle's table is
// answered while the new one is built), and at the first view of a model (the request waits for
// the whole fleet forecast),
// the size of GET /dashboard/fleet raw and gzip, and a sort and a search in the page. The same at
// `--baseline` servers in the same run gives the ratios. Each fleet is served by the service with
// a small real ONNX model (30-minute steps, 12-step horizon: 6 h, like the default profile).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { deploy } from '../src/registry/pointer.js';
import { buildApp } from '../src/service/http/app.js';
import { listen } from '../src/service/http/server.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { makeTinyModels } from '../test/helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir } from '../test/service/fixtures.js';

interface Measure {
  servers: number;
  raw_bytes: number;
  gzip_bytes: number;
  /** Server side: the fleet forecast and the table documents of a new window cycle. */
  build_ms: number;
  /** Median time to first render, navigation start → rows shown. */
  render_warm_ms: number;
  render_cycle_ms: number;
  render_first_ms: number;
  /** Median in-page time of one sort (by live q-risk) and one search keystroke, with re-render. */
  sort_ms: number;
  search_ms: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function measure(browser: Browser, count: number, runs: number): Promise<Measure> {
  const fleet = fleetOf(count);
  const live = [...fleet, ...fleetOf(Math.max(1, Math.round(count / 500)), 'new')];
  const registry = await tempDir('fleetcast-bench-dash-');
  const modelId = 'tft-20261101T000000Z-d0d0d0';
  try {
    await makeTinyModels(join(registry, 'models'), [
      { modelId, servers: fleet, resolutionSeconds: 1800, lookbackSteps: 48, horizonSteps: 12 },
    ]);
    await deploy(registry, modelId, 'bench');
    const service = newService(registry, () => live, { manifest: () => fleet.map((s) => ({ ...s })) });
    await service.start();
    const app = buildApp({ service });
    const server = await listen(app, service, { host: '127.0.0.1', port: 0 });
    try {
      const builds: number[] = [];
      for (let i = 0; i < runs; i++) {
        await service.refresh(); // a new window cycle, and an app with an empty table cache: a full build
        const fresh = buildApp({ service });
        const t0 = performance.now();
        await fresh.inject({ url: '/dashboard/fleet', headers: { 'accept-encoding': 'gzip' } });
        builds.push(performance.now() - t0);
        await fresh.close();
      }
      const raw = (await app.inject('/dashboard/fleet')).rawPayload.length;
      const gzip = (await app.inject({ url: '/dashboard/fleet', headers: { 'accept-encoding': 'gzip' } }))
        .rawPayload.length;

      // warm: the tables of this cycle are built; cycle: a new window cycle began (the previous
      // cycle's tables are answered while the new ones are built); first: the first view of the
      // model (a fresh app, whose table cache is empty: the request waits for the fleet forecast)
      const render = async (kind: 'warm' | 'cycle' | 'first'): Promise<number> => {
        if (kind === 'cycle') await service.refresh();
        let url = server.url;
        const fresh = kind === 'first' ? buildApp({ service }) : null;
        if (fresh !== null) url = await fresh.listen({ host: '127.0.0.1', port: 0 });
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        try {
          await page.goto(`${url}/?refresh=3600`);
          await page.waitForFunction(() => document.body.dataset.fleetRendered === 'true', undefined, {
            timeout: 120_000,
          });
          return await page.evaluate(() => performance.getEntriesByName('fleet-rendered')[0]!.startTime);
        } finally {
          await page.close();
          await fresh?.close();
        }
      };
      await render('warm'); // browser and caches warmed once, not counted
      const warm: number[] = [];
      const cycle: number[] = [];
      const first: number[] = [];
      for (let i = 0; i < runs; i++) {
        warm.push(await render('warm'));
        cycle.push(await render('cycle'));
        first.push(await render('first'));
      }

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`${server.url}/?refresh=3600`);
      await page.waitForFunction(() => document.body.dataset.fleetRendered === 'true');
      // a sort renders synchronously; a search runs on the next animation frame, so it is timed over frames
      // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
      const sortAndSearch = (await page.evaluate(`(async () => {
        const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
        const sorts = [];
        const searches = [];
        const button = document.querySelector('th[data-key="qrisk"] button');
        const search = document.getElementById('search');
        for (let i = 0; i < ${runs * 2}; i++) {
          let t = performance.now();
          button.click();
          sorts.push(performance.now() - t);
          await frame();
          search.value = i % 2 === 0 ? 'web-00' : '';
          search.dispatchEvent(new Event('input'));
          t = performance.now();
          await frame();
          await frame();
          searches.push(performance.now() - t);
        }
        return { sorts, searches };
      })()`)) as { sorts: number[]; searches: number[] };
      await page.close();
      return {
        servers: live.length,
        raw_bytes: raw,
        gzip_bytes: gzip,
        build_ms: Math.round(median(builds)),
        render_warm_ms: Math.round(median(warm)),
        render_cycle_ms: Math.round(median(cycle)),
        render_first_ms: Math.round(median(first)),
        sort_ms: +median(sortAndSearch.sorts).toFixed(1),
        search_ms: +median(sortAndSearch.searches).toFixed(1),
      };
    } finally {
      await server.close();
    }
  } finally {
    await removeDir(registry);
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: 'string', default: '10000' },
      baseline: { type: 'string', default: '400' },
      runs: { type: 'string', default: '5' },
      json: { type: 'boolean' },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  const browser = await launchChromium();
  try {
    const base = await measure(browser, Number(values.baseline), runs);
    const big = await measure(browser, Number(values.servers), runs);
    const ratio = (k: keyof Measure) => +(big[k] / base[k]).toFixed(2);
    const result = {
      baseline: base,
      fleet: big,
      ratios: {
        raw_bytes: ratio('raw_bytes'),
        gzip_bytes: ratio('gzip_bytes'),
        render_warm: ratio('render_warm_ms'),
        render_cycle: ratio('render_cycle_ms'),
        render_first: ratio('render_first_ms'),
      },
      goal_render_ms: 2000,
      goal_met: big.render_warm_ms <= 2000 && big.render_cycle_ms <= 2000,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
    const rows: Array<[string, string, string, string]> = [
      ['servers', String(base.servers), String(big.servers), ''],
      ['GET /dashboard/fleet raw', kb(base.raw_bytes), kb(big.raw_bytes), `${result.ratios.raw_bytes}×`],
      ['GET /dashboard/fleet gzip', kb(base.gzip_bytes), kb(big.gzip_bytes), `${result.ratios.gzip_bytes}×`],
      ['table build (new cycle, server)', `${base.build_ms} ms`, `${big.build_ms} ms`, ''],
      [
        'first render, warm',
        `${base.render_warm_ms} ms`,
        `${big.render_warm_ms} ms`,
        `${result.ratios.render_warm}×`,
      ],
      [
        'first render, new cycle',
        `${base.render_cycle_ms} ms`,
        `${big.render_cycle_ms} ms`,
        `${result.ratios.render_cycle}×`,
      ],
      [
        'first render, first view of a model',
        `${base.render_first_ms} ms`,
        `${big.render_first_ms} ms`,
        `${result.ratios.render_first}×`,
      ],
      ['sort (in page)', `${base.sort_ms} ms`, `${big.sort_ms} ms`, ''],
      ['search keystroke (in page)', `${base.search_ms} ms`, `${big.search_ms} ms`, ''],
    ];
    process.stdout.write(`dashboard at fleet scale (medians of ${runs} runs)\n`);
    for (const [name, a, b, r] of rows)
      process.stdout.write(`  ${name.padEnd(34)} ${a.padStart(10)} ${b.padStart(10)} ${r.padStart(8)}\n`);
    process.stdout.write(
      `  goal: first render ≤ 2000 ms at ${big.servers} servers (warm and new cycle): ${result.goal_met ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    await browser.close();
  }
}
