import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { listen, type RunningServer } from '../../src/service/http/server.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { launchChromium } from '../helpers/chromium.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, recentEnd, removeDir, syntheticFetcher, tempDir } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-d1d1d1';
const M2 = 'tft-20261101T000000Z-d2d2d2';
const trained = fleetOf(12);
const live = [...trained, { name: 'new-0001', profile: 'api' }];

/** A page that records script errors and any request that leaves the service. */
async function openPage(browser: Browser, origin: string, height = 1000) {
  const page = await browser.newPage({ viewport: { width: 1400, height } });
  const errors: string[] = [];
  const external: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(origin)) external.push(request.url());
  });
  return { page, errors, external };
}

/** The server names of the rows in the DOM, top to bottom. */
function renderedNames(page: Page): Promise<string[]> {
  return page
    .locator('#fleet-table tbody tr.row')
    .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.server!));
}

describe('dashboard in headless Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  describe('a small fleet', () => {
    let registry: string;
    let service: ForecastService;
    let server: RunningServer;
    before(async () => {
      registry = await tempDir();
      await makeTinyModels(join(registry, 'models'), [
        { modelId: M1, servers: trained },
        { modelId: M2, servers: trained, seed: 9 },
      ]);
      await deploy(registry, M1, 'first');
      service = newService(registry, () => live, { manifest: () => trained.map((s) => ({ ...s })) });
      await service.start();
      server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await server?.close();
      await removeDir(registry);
    });

    it('shows every fleet server in the table with sparklines, flags, coverage, and follows a model swap', async () => {
      const { page, errors, external } = await openPage(browser, server.url);
      await page.goto(`${server.url}/?refresh=1`);
      await page.waitForFunction(
        (n) => document.querySelectorAll('#fleet-table tr.row').length === n,
        live.length,
      );
      assert.deepEqual((await renderedNames(page)).sort(), live.map((s) => s.name).sort());
      assert.equal(await page.locator('#fleet-table tr.row[data-known="false"]').count(), 1);
      assert.equal(
        await page.locator('tr[data-server="new-0001"] .col-known').textContent(),
        'unknown, not in manifest',
      );
      assert.equal(
        await page.locator('tr[data-server="web-0001"] th a').getAttribute('href'),
        '#server=web-0001',
      );
      assert.match(
        (await page.locator('tr[data-server="web-0001"] svg.spark').getAttribute('aria-label')) ?? '',
        /^P50 cpu_pct over the next 6\.0 h: [\d.]+ % to [\d.]+ %, peak [\d.]+ %$/,
      );
      assert.match(
        (await page.locator('tr[data-server="web-0001"] svg.spark path').getAttribute('d')) ?? '',
        /^M/,
      );
      assert.equal((await page.locator('#model-id').textContent())?.trim(), M1);
      assert.match((await page.locator('#coverage').textContent()) ?? '', /^100% \(12\/12\)/);
      assert.equal((await page.locator('#health-status').textContent())?.trim(), 'ok');
      assert.equal(await page.locator('#fleet-table').getAttribute('aria-rowcount'), String(live.length + 1));

      await deploy(registry, M2, 'swap seen by the dashboard');
      assert.equal((await service.reload('pointer')).result, 'success');
      await page.waitForFunction((id) => document.getElementById('model-id')?.textContent === id, M2, {
        timeout: 10_000,
      });
      assert.match((await page.locator('#last-swap').textContent()) ?? '', new RegExp(M2));
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      await page.close();
    });
  });

  it('shows the real state without a model, then stale and failed servers greyed with why', async () => {
    const empty = await tempDir();
    const fleet = fleetOf(6);
    const idle = newService(empty, () => fleet, {
      manifest: () => fleet.map((s) => ({ ...s })),
      windowFetcher: syntheticFetcher(() => fleet, {
        ends: { 'web-0005': recentEnd() - 10 * 3600 },
        tweak: (windows) => {
          windows.get('web-0003')!.input.past[8] = Number.NaN;
        },
      }),
    });
    const idleServer = await listen(buildApp({ service: idle }), idle, { host: '127.0.0.1', port: 0 });
    const { page, errors } = await openPage(browser, idleServer.url);
    try {
      await idle.start();
      await page.goto(`${idleServer.url}/?refresh=1`);
      await page.waitForFunction(() => document.getElementById('coverage')?.textContent !== '…');
      assert.equal((await page.locator('#health-status').textContent())?.trim(), 'unavailable');
      assert.equal((await page.locator('#model-id').textContent())?.trim(), 'none');
      for (const id of ['#server-count', '#coverage', '#unknown-count'])
        assert.equal((await page.locator(id).textContent())?.trim(), '–', id);
      assert.match(
        (await page.locator('#fleet-message').textContent()) ?? '',
        /no forecasts: no model deployed/i,
      );

      await makeTinyModels(join(empty, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(empty, M1, 'first');
      assert.equal((await idle.reload('pointer')).result, 'success');
      await page.waitForFunction(
        () => document.querySelectorAll('#fleet-table tr.row').length === 6,
        undefined,
        {
          timeout: 10_000,
        },
      );
      assert.equal(await page.locator('#fleet-message').isHidden(), true);
      const stale = page.locator('tr[data-server="web-0005"]');
      assert.match((await stale.getAttribute('class')) ?? '', /\bstale\b/);
      assert.match((await stale.locator('.col-age').textContent()) ?? '', /^1\d\.\d h \(stale\)$/);
      assert.match(
        (await stale.locator('.col-age').getAttribute('title')) ?? '',
        /^data until \d{1,2} [A-Z][a-z]{2} \d\d:\d\d UTC$/,
      );
      assert.equal(await page.locator('tr[data-server="web-0001"]').getAttribute('class'), 'row');
      const failed = page.locator('tr[data-server="web-0003"]');
      assert.match((await failed.getAttribute('class')) ?? '', /\bfailed\b/);
      assert.match((await failed.locator('.reason').textContent()) ?? '', /^invalid_window: /);
      assert.equal((await page.locator('#health-status').textContent())?.trim(), 'degraded');
      assert.match((await page.locator('#health-reason').textContent()) ?? '', /stale data/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await idleServer.close();
      await removeDir(empty);
    }
  });

  describe('10,020 servers', () => {
    const big = fleetOf(10_000);
    const bigLive = [...big, ...fleetOf(20, 'new')];
    let registry: string;
    let stateDir: string;
    let service: ForecastService;
    let server: RunningServer;
    before(async () => {
      registry = await tempDir();
      stateDir = await tempDir();
      await makeTinyModels(join(registry, 'models'), [{ modelId: M1, servers: big }]);
      await deploy(registry, M1, 'first');
      service = newService(registry, () => bigLive, {
        manifest: () => big.map((s) => ({ ...s })),
        stateDir,
        stateSaveIntervalMs: 0,
      });
      await service.start();
      server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await server?.close();
      await removeDir(registry);
      await removeDir(stateDir);
    });

    it('renders only the rows in view, sorts by any column, searches by name, opens a server', async () => {
      const { page, errors, external } = await openPage(browser, server.url);
      await page.goto(`${server.url}/?refresh=600`);
      await page.waitForFunction(() => document.body.dataset.fleetRendered === 'true', undefined, {
        timeout: 60_000,
      });
      assert.equal(await page.locator('#row-count').textContent(), '10020 servers');
      assert.equal(await page.locator('#fleet-table').getAttribute('aria-rowcount'), '10021');
      const first = await renderedNames(page);
      assert.ok(first.length > 10 && first.length < 100, `${first.length} rows in the DOM, not 10,020`);
      assert.deepEqual(first.slice(0, 3), ['new-0001', 'new-0002', 'new-0003']);
      assert.equal(await page.locator('#unknown-count').textContent(), '20');

      // scrolled to the end, the last server is in the DOM, and still only a page of rows
      await page.locator('#fleet-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll('#fleet-table tr.row')).some(
          (r) => (r as HTMLElement).dataset.server === 'web-9999',
        ),
      );
      const end = await renderedNames(page);
      assert.equal(end.at(-1), 'web-9999');
      assert.ok(end.length < 100);
      const rowIndex = await page.locator('#fleet-table tr.row').last().getAttribute('aria-rowindex');
      assert.equal(rowIndex, '10021');
      await page.locator('#fleet-scroll').evaluate((el) => el.scrollTo(0, 0));

      // sort: name descending, then by the known flag (unknown first), then by data age
      await page.locator('th[data-key="server"] button').click();
      assert.equal(await page.locator('th[data-key="server"]').getAttribute('aria-sort'), 'descending');
      assert.equal((await renderedNames(page))[0], 'web-9999');
      await page.locator('th[data-key="known"] button').click();
      assert.equal(await page.locator('th[data-key="known"]').getAttribute('aria-sort'), 'ascending');
      assert.equal(await page.locator('th[data-key="server"]').getAttribute('aria-sort'), null);
      assert.deepEqual(
        await page
          .locator('#fleet-table tr.row')
          .evaluateAll((rows) => rows.slice(0, 21).map((r) => (r as HTMLElement).dataset.known)),
        [...Array(20).fill('false'), 'true'],
      );
      await page.locator('th[data-key="forecast"] button').click();
      await page.locator('th[data-key="forecast"] button').click();
      const peaks = await page
        .locator('#fleet-table tr.row svg.spark')
        .evaluateAll((svgs) =>
          svgs.slice(0, 10).map((s) => Number(/peak ([\d.]+)/.exec(s.getAttribute('aria-label')!)![1])),
        );
      assert.deepEqual(
        peaks,
        [...peaks].sort((a, b) => b - a),
        'highest forecast peak first',
      );

      // search by name substring
      await page.locator('#search').fill('new-00');
      await page.waitForFunction(
        () => document.getElementById('row-count')?.textContent === '20 of 10020 servers',
      );
      assert.equal((await renderedNames(page)).length, 20);
      await page.locator('#search').fill('WEB-0042');
      await page.waitForFunction(() => document.querySelectorAll('#fleet-table tr.row').length === 1);
      assert.deepEqual(await renderedNames(page), ['web-0042']);

      // the detail view: actuals and forecast band on one time axis with dates, units, a deploy marker, tooltips
      await page.locator('tr[data-server="web-0042"] th a').click();
      await page.waitForFunction(
        () => document.querySelectorAll('#server-charts figure svg.time-chart').length > 0,
      );
      assert.equal(page.url().endsWith('#server=web-0042'), true);
      assert.equal(await page.locator('#fleet-view').isHidden(), true);
      assert.equal(await page.locator('#server-heading').textContent(), 'web-0042');
      const cpu = page.locator('#server-charts figure[data-target="cpu_pct"]');
      assert.match(
        (await cpu.locator('figcaption').textContent()) ?? '',
        /^cpu_pct \(%\): actuals, P50 forecast and P10–P90 band$/,
      );
      const xLabels = await cpu.locator('.x-axis text').allTextContents();
      assert.ok(xLabels.length >= 3, `x ticks: ${xLabels.join(' | ')}`);
      for (const label of xLabels) assert.match(label, /^\d{1,2} [A-Z][a-z]{2}( \d\d:\d\d)?$/);
      assert.match(xLabels.join(' '), new RegExp(`${new Date().getUTCDate()} `), 'today is on the axis');
      const yLabels = await cpu.locator('text.tick').allTextContents();
      assert.ok(
        yLabels.some((l) => / %$/.test(l)),
        `y ticks with the unit: ${yLabels.join(' | ')}`,
      );
      assert.equal(await cpu.locator('path.band').count(), 1, 'the P10–P90 band');
      assert.deepEqual(
        await cpu
          .locator('path.line')
          .evaluateAll((paths) => paths.map((p) => (p as SVGElement).dataset.series)),
        ['actual', 'forecast P50'],
      );
      const marker = cpu.locator('.markers g.marker.deploy');
      assert.equal(await marker.count(), 1, 'the deploy at start-up');
      assert.match(
        (await marker.locator('title').textContent()) ?? '',
        new RegExp(`^deploy: none → ${M1} at `),
      );

      const box = (await cpu.locator('svg.time-chart').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
      await page.waitForFunction(() => document.getElementById('tooltip')?.hidden === false);
      const tip = await page.locator('#tooltip div').allTextContents();
      assert.match(tip[0]!, /^\d{1,2} [A-Z][a-z]{2} \d\d:\d\d UTC$/);
      assert.ok(
        tip.some((line) => /^actual: [\d.]+ %$/.test(line)),
        tip.join(' | '),
      );

      // back to the fleet: the search is still there
      await page.locator('#back').click();
      await page.waitForFunction(() => !document.getElementById('fleet-view')!.hidden);
      assert.deepEqual(await renderedNames(page), ['web-0042']);
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      await page.close();
    });
  });
});
