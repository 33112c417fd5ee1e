/// <reference lib="dom" />
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, smaOptimizeConfig, writeConfig } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
// As for the dashboard: without Debian's chromium (installed by `npm run setup`) this suite cannot
// run and says so; in CI it must run.
const available = existsSync(CHROMIUM);
if (!available && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: run "npm run setup", which installs it`);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

/**
 * Opens a report file with every request that is not the file itself refused, and collects what
 * the page tried to fetch and any script error.
 */
async function openOffline(browser: Browser, file: string) {
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  const url = pathToFileURL(file).toString();
  const requests: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target === url) return route.continue();
    requests.push(target);
    return route.abort();
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  return { page, requests, errors, close: () => context.close() };
}

async function columnValues(page: Page, column: number): Promise<number[]> {
  return page.$$eval(
    '#trades tbody tr',
    (rows, index) => rows.map((row) => Number((row as HTMLTableRowElement).cells[index]?.dataset.value)),
    column,
  );
}

describe.skipIf(!available)('reports in headless Chromium, offline', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the backtest report draws its charts and every trade, fetches nothing, and sorts its trade table', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-report-'));
    const run = await runCli([
      'backtest',
      '--config',
      'examples/strategy-sma-cross/backtest.yaml',
      '--report',
      directory,
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(directory, 'summary.json'), 'utf8')).summary;
    const { page, requests, errors, close } = await openOffline(browser, path.join(directory, 'report.html'));
    try {
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      expect(await page.locator('#trades tbody tr').count()).toBe(summary.trades);
      // The equity and drawdown charts are laid out with a real size.
      const charts = await page.$$eval('svg', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          return { width: box.width, height: box.height };
        }),
      );
      expect(charts.length).toBeGreaterThanOrEqual(2);
      for (const chart of charts.slice(0, 2)) {
        expect(chart.width).toBeGreaterThan(100);
        expect(chart.height).toBeGreaterThan(50);
      }
      // Sorting by net PnL: ascending on the first click, descending on the second.
      const headers = await page.$$eval('#trades th', (cells) => cells.map((cell) => cell.textContent ?? ''));
      const net = headers.findIndex((header) => /^net/i.test(header));
      expect(net).toBeGreaterThanOrEqual(0);
      const header = page.locator('#trades th').nth(net);
      await header.click();
      const ascending = await columnValues(page, net);
      expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
      await header.click();
      const descending = await columnValues(page, net);
      expect(descending).toEqual([...ascending].reverse());
      expect(ascending[0]).toBeLessThan(ascending.at(-1) as number);
    } finally {
      await close();
    }
  });

  it('the optimizer report shows its ranked table, plots and best config, and fetches nothing', async () => {
    const config = writeConfig(
      smaOptimizeConfig(
        `  space: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 90, step: 30 } }
  sampler: grid
  minTrades: 5
  walkForward: { train: 4d, test: 2d }
  monteCarlo: { runs: 200 }`,
        { range: { from: '2025-06-01T00:00:00Z', to: '2025-06-11T00:00:00Z' } },
      ),
    );
    const run = await runCli(['optimize', '--config', config, '--workers', '2']);
    expect(run.code).toBe(0);
    const results = JSON.parse(
      readFileSync(path.join(path.dirname(config), 'bot.optimize', 'results.json'), 'utf8'),
    );
    const { page, requests, errors, close } = await openOffline(
      browser,
      path.join(path.dirname(config), 'bot.optimize', 'report.html'),
    );
    try {
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      const text = await page.locator('body').innerText();
      for (const section of ['Best parameters', 'Sensitivity', 'Heatmap', 'Walk-forward', 'Monte Carlo'])
        expect(text).toContain(section);
      // Every ranked set is in the page, best first.
      const best = results.ranked[0].params as { fast: number; slow: number };
      expect(text).toContain(`fast: ${best.fast}, slow: ${best.slow}`);
      const plots = await page.$$eval(
        'svg',
        (svgs) => svgs.filter((svg) => svg.getBoundingClientRect().width > 50).length,
      );
      expect(plots).toBeGreaterThanOrEqual(3);
    } finally {
      await close();
    }
  });
});
