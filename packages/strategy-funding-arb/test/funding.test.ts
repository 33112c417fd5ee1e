/*
 * Funding is compared per hour, normalized exactly once. These tests pin that against real rates
 * from both kinds of venue in ../shared/data: Binance settles every 8 hours, Hyperliquid every hour.
 * Treating Binance's 8h rate as hourly (or dividing an hourly rate by 8 again) is the classic 8×
 * error; each test below would fail under it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFunding } from '@perpkit/backtest';
import { fundingRate } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { annualize, hourlyRate, pairSpreadPerHour } from '../src/index';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const BINANCE = path.join(DATA, 'gg-cmk-binance-quant/BTCUSDT-funding.csv');
const HYPERLIQUID = path.join(DATA, 'rishisidhu-hyperliquid-funding/funding_history.csv');

/** The raw rows, parsed here by hand (not by the loaders under test elsewhere). */
function rawRow(file: string, matches: (columns: string[]) => boolean): string[] {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .map((text) => text.split(','))
    .find(matches);
  if (!line) throw new Error(`no matching row in ${file}`);
  return line;
}

describe('funding per hour', () => {
  // Binance's 2026-05-01 08:00 settlement and Hyperliquid's BTC rate for the same hour.
  const binanceRow = rawRow(BINANCE, (columns) => columns[0] === '1777622400005');
  const hyperliquidRow = rawRow(
    HYPERLIQUID,
    (columns) => columns[0] === 'BTC' && columns[1] === '2026-05-01 08:00:00.049000+00:00',
  );
  const binance8h = Number(binanceRow[2]); // -0.00001810 per 8h
  const hyperliquid1h = Number(hyperliquidRow[2]); // 5.068e-07 per 1h
  const binance = fundingRate({
    exchange: 'binance',
    symbol: 'BTC',
    timestamp: 1_777_622_400_000,
    rate: binance8h,
    intervalHours: Number(binanceRow[1]),
  });
  const hyperliquid = fundingRate({
    exchange: 'hyperliquid',
    symbol: 'BTC',
    timestamp: 1_777_622_400_000,
    rate: hyperliquid1h,
    intervalHours: 1,
  });

  it('reads each venue per hour: an 8h rate is divided by 8 once, an hourly rate is kept', () => {
    expect(binanceRow[1]).toBe('8');
    expect(hourlyRate(binance, { fundingIntervalHours: 8 })).toBeCloseTo(-0.0000181 / 8, 15);
    expect(hourlyRate(hyperliquid, { fundingIntervalHours: 1 })).toBe(5.068e-7);
  });

  it('compares the two venues on the same hourly footing (not the raw 8h number)', () => {
    const spread = pairSpreadPerHour(
      hourlyRate(binance, { fundingIntervalHours: 8 }),
      hourlyRate(hyperliquid, { fundingIntervalHours: 1 }),
    );
    // Long Binance (it pays less), short Hyperliquid: 5.068e-7 − (−1.81e-5 / 8) = 2.7693e-6 per hour.
    expect(spread).toBeCloseTo(2.7693e-6, 12);
    // The 8× error would have read 5.068e-7 + 1.81e-5 = 1.86e-5: almost seven times as much.
    expect(Math.abs(spread - (hyperliquid1h - binance8h))).toBeGreaterThan(1.5e-5);
    expect(annualize(spread)).toBeCloseTo(2.7693e-6 * 8760, 10);
  });

  it('refuses a rate whose interval is not the market’s (an 8h rate labelled hourly)', () => {
    const mislabelled = fundingRate({ ...binance, intervalHours: 1 });
    expect(() => hourlyRate(mislabelled, { fundingIntervalHours: 8 })).toThrow(/misstate funding by 8×/);
  });

  it('refuses a rate normalized twice (ratePerHour is not rate / interval)', () => {
    const twice = { ...binance, ratePerHour: binance.ratePerHour / 8 };
    expect(() => hourlyRate(twice, { fundingIntervalHours: 8 })).toThrow(/normalized twice/);
  });

  it('matches the published 8-hour means of both venues over their 119 common settlements', async () => {
    const binanceSeries = await loadFunding({ path: BINANCE });
    const hyperliquidSeries = await loadFunding({ path: HYPERLIQUID, symbol: 'BTC' });
    expect(binanceSeries.intervalHours).toBe(8);
    expect(hyperliquidSeries.intervalHours).toBe(1);
    const hourly = new Map<number, number>();
    for (const point of hyperliquidSeries.points) {
      const rate = fundingRate({
        exchange: 'hyperliquid',
        symbol: 'BTC',
        timestamp: point.time,
        rate: point.rate,
        intervalHours: point.intervalHours,
      });
      hourly.set(point.time, hourlyRate(rate, { fundingIntervalHours: 1 }));
    }
    const hour = 3_600_000;
    const binancePer8h: number[] = [];
    const hyperliquidPer8h: number[] = [];
    for (const point of binanceSeries.points) {
      const window = Array.from({ length: 8 }, (_, back) => hourly.get(point.time - back * hour));
      if (window.some((value) => value === undefined)) continue;
      const rate = fundingRate({
        exchange: 'binance',
        symbol: 'BTC',
        timestamp: point.time,
        rate: point.rate,
        intervalHours: point.intervalHours,
      });
      // Both scaled back to 8 hours from the hourly footing: Binance's is its own rate again.
      binancePer8h.push(hourlyRate(rate, { fundingIntervalHours: 8 }) * 8);
      hyperliquidPer8h.push((window as number[]).reduce((sum, value) => sum + value, 0));
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    // ../shared/data/README.md, section 5: 119 settlements, mean per 8h Binance 2.33e-5, Hyperliquid 2.97e-5.
    expect(binancePer8h).toHaveLength(119);
    expect(mean(binancePer8h)).toBeCloseTo(2.33e-5, 7);
    expect(mean(hyperliquidPer8h)).toBeCloseTo(2.97e-5, 7);
  });
});
