import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FundingFile, loadFunding } from '../src/funding';
import { at } from './data';

const HOUR = 3_600_000;
const supervik = (coin: string, venue: string, range: string) =>
  at(`supervik-historical-funding/${coin}-USDT_${venue}_${range}_funding_history.csv`);

describe('funding loaders read every funding file in the shared data', () => {
  it('Binance (gg-cmk): 1,731 settlements every 8h, ms jitter floored', async () => {
    const series = await loadFunding({ path: at('gg-cmk-binance-quant/BTCUSDT-funding.csv') });
    expect(series.report).toMatchObject({
      format: 'binance',
      points: 1_731,
      intervalHours: 8,
      duplicates: 0,
      irregularSpacings: 0,
      offGrid: 0,
    });
    expect(series.points[0]).toEqual({
      time: Date.parse('2025-01-01T00:00:00Z'),
      rate: 0.0001,
      intervalHours: 8,
      ratePerHour: 0.0001 / 8,
    });
    const rates = series.points.map((point) => point.rate);
    expect(Math.min(...rates)).toBe(-0.00015178);
    expect(Math.max(...rates)).toBe(0.0001);
    expect(rates.reduce((sum, rate) => sum + rate, 0) / rates.length).toBeCloseTo(3.61e-5, 7);
  });

  it.each(['BTC', 'ETH', 'SOL'])('gravestone %sUSDT: 200 settlements every 8h', async (coin) => {
    const series = await loadFunding({ path: at(`silertrades-gravestone-data/${coin}USDT-funding.csv`) });
    expect(series.report).toMatchObject({
      format: 'gravestone',
      points: 200,
      intervalHours: 8,
      irregularSpacings: 0,
    });
    expect(series.report.first).toBe(Date.parse('2026-01-12T16:00:00Z'));
    expect(series.report.last).toBe(Date.parse('2026-03-20T00:00:00Z'));
  });

  it.each(['BTC', 'HYPE'])('Hyperliquid %s: 960 hourly settlements, one coin at a time', async (coin) => {
    const series = await loadFunding({
      path: at('rishisidhu-hyperliquid-funding/funding_history.csv'),
      symbol: coin,
    });
    expect(series.report).toMatchObject({
      format: 'hyperliquid',
      points: 960,
      intervalHours: 1,
      irregularSpacings: 0,
      offGrid: 0,
    });
    expect(series.report.first).toBe(Date.parse('2026-04-26T18:00:00Z'));
  });

  it('freqtrade JSON: 91 settlements every 8h', async () => {
    const series = await loadFunding({
      path: at('freqtrade-testdata-futures/XRP_USDT_USDT-8h-funding_rate.json'),
    });
    expect(series.report).toMatchObject({ format: 'freqtrade', points: 91, intervalHours: 8 });
    expect(series.points[0]?.time).toBe(Date.parse('2021-11-18T00:00:00Z'));
    expect(Math.min(...series.points.map((point) => point.rate))).toBe(-0.00219334);
  });

  it.each([
    ['BTC', 'binance', '2020-01-01_2024-01-01', 4_383, 8, '2020-01-01T00:00:00Z'],
    ['ETH', 'binance', '2020-01-01_2024-01-01', 4_383, 8, '2020-01-01T00:00:00Z'],
    ['BTC', 'bybit', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T00:00:00Z'],
    ['ETH', 'bybit', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T00:00:00Z'],
    ['BTC', 'dydx', '2022-01-01_2024-01-01', 17_520, 1, '2022-01-01T00:00:00Z'],
    ['ETH', 'dydx', '2022-01-01_2024-01-01', 17_520, 1, '2022-01-01T00:00:00Z'],
    ['BTC', 'gate', '2020-01-01_2024-01-01', 4_290, 8, '2020-01-01T00:00:00Z'],
    ['ETH', 'gate', '2020-01-01_2024-01-01', 4_290, 8, '2020-01-01T00:00:00Z'],
    ['BTC', 'htx', '2021-01-01_2024-01-01', 3_284, 8, '2021-01-01T00:00:00Z'],
    ['ETH', 'htx', '2021-01-01_2024-01-01', 3_284, 8, '2021-01-01T00:00:00Z'],
    ['BTC', 'kucoin', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T04:00:00Z'],
    ['ETH', 'kucoin', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T04:00:00Z'],
    ['BTC', 'mexc', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T00:00:00Z'],
    ['ETH', 'mexc', '2021-01-01_2024-01-01', 3_285, 8, '2021-01-01T00:00:00Z'],
  ])(
    'Supervik %s on %s: %i settlements, %ih, times in UTC',
    async (coin, venue, range, points, hours, first) => {
      const series = await loadFunding({ path: supervik(coin, venue, range) });
      expect(series.report).toMatchObject({
        format: 'supervik',
        points,
        intervalHours: hours,
        duplicates: 0,
      });
      expect(new Date(series.report.first as number).toISOString().replace('.000', '')).toBe(first);
    },
  );

  it("converts Supervik's UTC+3 local times: Binance's 2020-01-01 03:00 row is the 00:00 UTC settlement", async () => {
    const series = await loadFunding({ path: supervik('BTC', 'binance', '2020-01-01_2024-01-01') });
    expect(series.points[0]).toMatchObject({ time: Date.parse('2020-01-01T00:00:00Z'), rate: -0.00012359 });
    expect(series.report).toMatchObject({ irregularSpacings: 0, offGrid: 0 });
  });

  it('reports the Gate hole (93 missing settlements in December 2020) and HTX irregularities', async () => {
    const gate = await loadFunding({ path: supervik('BTC', 'gate', '2020-01-01_2024-01-01') });
    expect(gate.report).toMatchObject({ irregularSpacings: 1, missingSettlements: 93 });
    // Checked row by row: seven settlements off the 8h grid (2021-04-07 18:00, 05-06 10:00,
    // 05-19 18:00, 05-30 18:00, 10-28 03:00, 2022-10-19 19:00, 2023-04-12 09:00 UTC) and a 24h
    // hole on 2021-02-19. The data README's summary lists six of the off-grid steps.
    const htx = await loadFunding({ path: supervik('BTC', 'htx', '2021-01-01_2024-01-01') });
    expect(htx.report).toMatchObject({ offGrid: 7, irregularSpacings: 15, missingSettlements: 2 });
  });
});

describe('other layouts and streaming', () => {
  const write = (name: string, text: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-funding-')), name);
    writeFileSync(file, text);
    return file;
  };

  it('reads a CSV of any layout through a column mapping: time, rate, symbol and interval columns', async () => {
    const mapped = await loadFunding({
      path: write(
        'custom.csv',
        [
          'pair,settled_at,rate_per_period,period_h,note',
          'ETH,2024-03-01T00:00:00Z,0.0003,4,other coin',
          'BTC,2024-03-01T00:00:00.250Z,0.0001,4,ms jitter',
          'BTC,2024-03-01T04:00:00Z,-0.0002,4,',
          'BTC,2024-03-01T08:00:00Z,0.00005,4,',
        ].join('\n'),
      ),
      format: 'csv',
      symbol: 'BTC',
      columns: { time: 'settled_at', rate: 'rate_per_period', symbol: 'pair', intervalHours: 'period_h' },
    });
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    expect(mapped.points).toEqual([
      { time: t0, rate: 0.0001, intervalHours: 4, ratePerHour: 0.0001 / 4 },
      { time: t0 + 4 * HOUR, rate: -0.0002, intervalHours: 4, ratePerHour: -0.0002 / 4 },
      { time: t0 + 8 * HOUR, rate: 0.00005, intervalHours: 4, ratePerHour: 0.00005 / 4 },
    ]);
    expect(mapped.report).toMatchObject({
      format: 'csv',
      rows: 3,
      points: 3,
      intervalHours: 4,
      irregularSpacings: 0,
    });
  });

  it('names the missing column of a mapping', async () => {
    const file = write('bad.csv', 'when,value\n1700000000000,0.0001\n');
    await expect(
      loadFunding({ path: file, format: 'csv', columns: { time: 'when', rate: 'funding' } }),
    ).rejects.toThrow(/columns when\/funding are not in the header \(when, value\)/);
  });

  it('streams: a large file comes in bounded batches, and an out-of-order row is dropped and counted', async () => {
    const start = Date.parse('2020-01-01T00:00:00Z');
    const rows = ['fundingTime,fundingIntervalHours,fundingRate'];
    for (let index = 0; index < 200_000; index += 1) rows.push(`${start + index * HOUR},1,0.00001`);
    rows.splice(50_001, 0, `${start + 10 * HOUR},1,0.5`);
    const source = new FundingFile({ path: write('big.csv', `${rows.join('\n')}\n`) });
    let batches = 0;
    let largest = 0;
    let points = 0;
    for await (const batch of source.batches()) {
      batches += 1;
      largest = Math.max(largest, batch.length);
      points += batch.length;
      expect(batch.every((point) => point.rate === 0.00001)).toBe(true);
    }
    expect(points).toBe(200_000);
    expect(batches).toBeGreaterThan(3);
    expect(largest).toBeLessThan(60_000);
    expect(source.report()).toMatchObject({
      rows: 200_001,
      points: 200_000,
      outOfOrder: 1,
      irregularSpacings: 0,
    });
  });
});

describe('normalization to per hour', () => {
  it('compares an 8h venue and a 1h venue on per-hour rates, never treating 8h rates as hourly', async () => {
    // README: 119 Binance settlements from 2026-04-27 08:00 to 2026-06-05 16:00, each with a full
    // 8-hour Hyperliquid window. Mean per 8h: Binance 2.33e-5, Hyperliquid 2.97e-5.
    const from = Date.parse('2026-04-27T08:00:00Z');
    const to = Date.parse('2026-06-05T16:00:00Z');
    const binance = (await loadFunding({ path: at('gg-cmk-binance-quant/BTCUSDT-funding.csv'), from, to }))
      .points;
    const hyperliquid = (
      await loadFunding({ path: at('rishisidhu-hyperliquid-funding/funding_history.csv'), symbol: 'BTC' })
    ).points;
    expect(binance).toHaveLength(119);
    const hourly = new Map(hyperliquid.map((point) => [point.time, point]));
    let binancePerHour = 0;
    let hyperliquidPerHour = 0;
    let hyperliquidPer8h = 0;
    for (const settlement of binance) {
      binancePerHour += settlement.ratePerHour;
      for (let hour = 0; hour < 8; hour += 1) {
        const point = hourly.get(settlement.time - hour * HOUR);
        expect(
          point,
          `Hyperliquid hour ${new Date(settlement.time - hour * HOUR).toISOString()}`,
        ).toBeDefined();
        hyperliquidPer8h += (point as (typeof hyperliquid)[number]).rate;
        hyperliquidPerHour += (point as (typeof hyperliquid)[number]).ratePerHour / 8;
      }
    }
    const n = binance.length;
    expect(binance.reduce((sum, point) => sum + point.rate, 0) / n).toBeCloseTo(2.33e-5, 7);
    expect(hyperliquidPer8h / n).toBeCloseTo(2.97e-5, 7);
    // Per hour both are ~3e-6; the classic 8× error would put Binance at 2.3e-5 per hour.
    expect(binancePerHour / n).toBeCloseTo(2.33e-5 / 8, 8);
    expect(hyperliquidPerHour / n).toBeCloseTo(2.97e-5 / 8, 8);
    expect(Math.abs(binancePerHour / n - hyperliquidPerHour / n)).toBeLessThan(1e-6);
  });
});
