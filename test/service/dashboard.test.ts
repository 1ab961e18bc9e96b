import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { listen, type RunningServer } from '../../src/service/http/server.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, recentEnd, removeDir, syntheticFetcher, tempDir } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-d1d1d1';
const M2 = 'tft-20261101T000000Z-d2d2d2';
const trained = fleetOf(12);
const live = [...trained, { name: 'new-0001', profile: 'api' }];

describe('dashboard in headless Chromium', () => {
  let registry: string;
  let service: ForecastService;
  let server: RunningServer;
  let browser: Browser;

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
    browser = await chromium.launch({
      executablePath: process.env.FLEETCAST_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await removeDir(registry);
  });

  it('shows every fleet server with charts, flags, coverage, and follows a model swap', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url)) external.push(request.url());
    });
    await page.goto(`${server.url}/?refresh=1`);
    await page.waitForFunction((n) => document.querySelectorAll('[data-server]').length === n, live.length);
    assert.equal(await page.locator('[data-server]').count(), live.length);
    const names = await page.locator('[data-server] h2').allTextContents();
    assert.deepEqual(names.sort(), live.map((s) => s.name).sort());
    assert.equal(await page.locator('[data-server][data-known="false"]').count(), 1);
    assert.equal(
      await page.locator('[data-server="new-0001"] .badge.unknown').first().textContent(),
      'unknown',
    );
    await page.waitForFunction(() => document.querySelectorAll('[data-server] canvas').length > 0);
    assert.equal((await page.locator('#model-id').textContent())?.trim(), M1);
    assert.match((await page.locator('#coverage').textContent()) ?? '', /^100% \(12\/12\)/);
    assert.equal((await page.locator('#health-status').textContent())?.trim(), 'ok');

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
    const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
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
      await page.waitForFunction(() => document.querySelectorAll('[data-server]').length === 6, undefined, {
        timeout: 10_000,
      });
      assert.equal(await page.locator('#fleet-message').isHidden(), true);
      const stale = page.locator('[data-server="web-0005"]');
      assert.match((await stale.getAttribute('class')) ?? '', /\bstale\b/);
      assert.match(
        (await stale.locator('.badge.stale').textContent()) ?? '',
        /^data until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      );
      assert.match((await page.locator('[data-server="web-0001"]').getAttribute('class')) ?? '', /^server$/);
      const failed = page.locator('[data-server="web-0003"]');
      assert.match((await failed.getAttribute('class')) ?? '', /\bfailed\b/);
      assert.match((await failed.locator('.badge.missing').textContent()) ?? '', /^invalid_window: /);
      assert.equal((await page.locator('#health-status').textContent())?.trim(), 'degraded');
      assert.match((await page.locator('#health-reason').textContent()) ?? '', /stale data/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await idleServer.close();
      await removeDir(empty);
    }
  });
});
