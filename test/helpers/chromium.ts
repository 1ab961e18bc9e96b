import { chromium, type Browser } from 'playwright-core';

/** Headless Chromium from the system (`FLEETCAST_CHROMIUM` for another binary), for dashboard tests and benchmarks. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}
