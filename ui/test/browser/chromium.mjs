// Launching the system Chromium (Debian's /usr/bin/chromium) through playwright-core, with the
// flags this project runs it with; shared by the browser tests and the benchmark.

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

/** A headless Chromium; playwright-core is imported here so plain `node --test` never needs it. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
