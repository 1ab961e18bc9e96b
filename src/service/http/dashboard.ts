import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetcastInstance } from './zod-schema.js';

export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/**
 * The dashboard's files, read once at startup from src/service/http/dashboard/: the page, its
 * modules (plain JS and SVG, no framework, nothing from a CDN) and its style.
 */
export function loadDashboardAssets(): Map<string, StaticAsset> {
  const own = fileURLToPath(new URL('./dashboard/', import.meta.url));
  const files: Array<[string, string, string]> = [
    ['/', join(own, 'index.html'), 'text/html; charset=utf-8'],
    ['/assets/dashboard.js', join(own, 'dashboard.js'), 'text/javascript; charset=utf-8'],
    ['/assets/fleet-table.js', join(own, 'fleet-table.js'), 'text/javascript; charset=utf-8'],
    ['/assets/charts.js', join(own, 'charts.js'), 'text/javascript; charset=utf-8'],
    ['/assets/dashboard.css', join(own, 'dashboard.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(
    files.map(([route, path, contentType]) => [route, { body: readFileSync(path), contentType }]),
  );
}

/** GET / and its assets, with a Content-Security-Policy that keeps the page to its own origin. */
export function dashboardRoutes(app: FleetcastInstance): void {
  for (const [route, asset] of loadDashboardAssets()) {
    app.get(route, async (_request, reply) =>
      reply
        .headers(SECURITY_HEADERS)
        .header('cache-control', route === '/' ? 'no-cache' : 'public, max-age=3600')
        .type(asset.contentType)
        .send(asset.body),
    );
  }
}
