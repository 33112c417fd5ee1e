import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CandleFile, intervalMs, loadAllCandles, resampleBatches } from '../src/candles';
import { at } from './data';

const MINUTE = 60_000;
const HOUR = 3_600_000;

describe('candle loaders read every candle file in the shared data', () => {
  it.each([
    [
      'cobra0506-bybit-linear/BTCUSDT_1m.csv',
      43_200,
      MINUTE,
      '2025-05-30T16:39:00Z',
      '2025-06-29T16:38:00Z',
      'ohlcv-csv',
    ],
    [
      'cobra0506-bybit-linear/ETHUSDT_1m.csv',
      43_200,
      MINUTE,
      '2025-05-30T16:39:00Z',
      '2025-06-29T16:38:00Z',
      'ohlcv-csv',
    ],
    [
      'cobra0506-bybit-linear/SOLUSDT_1m.csv',
      43_200,
      MINUTE,
      '2025-05-30T16:41:00Z',
      '2025-06-29T16:40:00Z',
      'ohlcv-csv',
    ],
    [
      'cobra0506-bybit-linear/BTCUSDT_5m.csv',
      25_920,
      5 * MINUTE,
      '2025-04-03T17:05:00Z',
      '2025-07-02T17:00:00Z',
      'ohlcv-csv',
    ],
    [
      'cobra0506-bybit-linear/ETHUSDT_5m.csv',
      25_920,
      5 * MINUTE,
      '2025-04-03T17:05:00Z',
      '2025-07-02T17:00:00Z',
      'ohlcv-csv',
    ],
    [
      'cobra0506-bybit-linear/SOLUSDT_5m.csv',
      25_920,
      5 * MINUTE,
      '2025-04-03T17:05:00Z',
      '2025-07-02T17:00:00Z',
      'ohlcv-csv',
    ],
    [
      'gg-cmk-binance-quant/BTCUSDT-1h-futures.csv',
      13_848,
      HOUR,
      '2025-01-01T00:00:00Z',
      '2026-07-31T23:00:00Z',
      'binance-kline',
    ],
    [
      'gg-cmk-binance-quant/BTCUSDT-4h-futures.csv',
      3_462,
      4 * HOUR,
      '2025-01-01T00:00:00Z',
      '2026-07-31T20:00:00Z',
      'binance-kline',
    ],
    [
      'silertrades-gravestone-data/BTCUSDT-1h.csv',
      4_500,
      HOUR,
      '2025-09-13T08:00:00Z',
      '2026-03-19T19:00:00Z',
      'ohlcv-csv',
    ],
    [
      'silertrades-gravestone-data/ETHUSDT-1h.csv',
      4_500,
      HOUR,
      '2025-09-13T08:00:00Z',
      '2026-03-19T19:00:00Z',
      'ohlcv-csv',
    ],
    [
      'silertrades-gravestone-data/SOLUSDT-1h.csv',
      4_500,
      HOUR,
      '2025-09-13T09:00:00Z',
      '2026-03-19T20:00:00Z',
      'ohlcv-csv',
    ],
    [
      'freqtrade-testdata-futures/XRP_USDT_USDT-1h-futures.json',
      100,
      HOUR,
      '2021-11-17T01:00:00Z',
      '2021-11-21T04:00:00Z',
      'freqtrade-json',
    ],
    [
      'freqtrade-testdata-futures/XRP_USDT_USDT-5m-futures.json',
      1_999,
      5 * MINUTE,
      '2021-11-15T00:00:00Z',
      '2021-11-21T22:30:00Z',
      'freqtrade-json',
    ],
    [
      'freqtrade-testdata-futures/XRP_USDT_USDT-1h-mark.json',
      100,
      HOUR,
      '2021-11-15T06:00:00Z',
      '2021-11-19T09:00:00Z',
      'freqtrade-json',
    ],
    [
      'freqtrade-testdata-futures/XRP_USDT_USDT-8h-mark.json',
      91,
      8 * HOUR,
      '2021-11-18T00:00:00Z',
      '2021-12-18T00:00:00Z',
      'freqtrade-json',
    ],
  ])('%s: %i bars, no gaps or duplicates', async (file, bars, interval, first, last, format) => {
    const source = new CandleFile({ path: at(file) });
    const candles = await loadAllCandles(source.batches());
    const report = source.report();
    expect(candles).toHaveLength(bars);
    expect(source.format).toBe(format);
    expect(report).toMatchObject({ bars, interval, gaps: 0, duplicates: 0, outOfOrder: 0, invalid: 0 });
    expect(new Date(report.first as number).toISOString().replace('.000', '')).toBe(first);
    expect(new Date(report.last as number).toISOString().replace('.000', '')).toBe(last);
    for (const candle of candles) {
      expect(candle.high).toBeGreaterThanOrEqual(Math.max(candle.open, candle.close));
      expect(candle.low).toBeLessThanOrEqual(Math.min(candle.open, candle.close));
    }
  });

  it('reads the exact values of a row (Binance kline, epoch ms)', async () => {
    const [first] = await loadAllCandles(
      new CandleFile({ path: at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv') }).batches(),
    );
    expect(first).toEqual({
      timestamp: 1735689600000,
      open: 93548.8,
      high: 94449.2,
      low: 93460.2,
      close: 94363.6,
      volume: 5744.609,
    });
  });

  it.each([
    ['BTCUSDT', '2026-03-19T18:00:00Z'],
    ['ETHUSDT', '2026-03-19T18:00:00Z'],
    ['SOLUSDT', '2026-03-19T19:00:00Z'],
  ])("drops the gravestone %s file's unfinished last bar with dropLast", async (coin, last) => {
    const source = new CandleFile({ path: at(`silertrades-gravestone-data/${coin}-1h.csv`), dropLast: true });
    const candles = await loadAllCandles(source.batches());
    expect(candles).toHaveLength(4_499);
    expect(candles.at(-1)?.timestamp).toBe(Date.parse(last));
    expect(source.report()).toMatchObject({ bars: 4_499, rows: 4_500, filtered: 1 });
  });

  it("the gravestone BTC bars equal Binance's own, except the unfinished last one that dropLast removes", async () => {
    const binance = new Map(
      (
        await loadAllCandles(
          new CandleFile({ path: at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv') }).batches(),
        )
      ).map((candle) => [candle.timestamp, candle]),
    );
    const ohlc = (candle: { open: number; high: number; low: number; close: number } | undefined) =>
      candle && [candle.open, candle.high, candle.low, candle.close];
    const kept = await loadAllCandles(
      new CandleFile({ path: at('silertrades-gravestone-data/BTCUSDT-1h.csv') }).batches(),
    );
    const last = kept.at(-1) as (typeof kept)[number];
    expect(last.timestamp).toBe(Date.parse('2026-03-19T19:00:00Z'));
    // Captured mid-hour: Binance's finished bar closed at 70,233.1; the file has 70,359.0.
    expect(last.close).toBe(70_359);
    expect(binance.get(last.timestamp)?.close).toBe(70_233.1);
    const dropped = await loadAllCandles(
      new CandleFile({ path: at('silertrades-gravestone-data/BTCUSDT-1h.csv'), dropLast: true }).batches(),
    );
    for (const candle of dropped)
      expect(ohlc(candle), new Date(candle.timestamp).toISOString()).toEqual(
        ohlc(binance.get(candle.timestamp)),
      );
  });

  it('streams: batches are bounded whatever the file size', async () => {
    const source = new CandleFile({ path: at('cobra0506-bybit-linear/BTCUSDT_1m.csv'), batchSize: 1000 });
    let batches = 0;
    for await (const batch of source.batches()) {
      expect(batch.length).toBeLessThanOrEqual(1000);
      batches += 1;
    }
    expect(batches).toBe(44);
  });
});

describe('resampling', () => {
  it("1h → 4h matches Binance's own 4h bars, every one of them", async () => {
    const resampled = await loadAllCandles(
      resampleBatches(
        new CandleFile({ path: at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv') }).batches(),
        4 * HOUR,
        { sourceInterval: HOUR },
      ),
    );
    const official = await loadAllCandles(
      new CandleFile({ path: at('gg-cmk-binance-quant/BTCUSDT-4h-futures.csv') }).batches(),
    );
    expect(resampled).toHaveLength(official.length);
    resampled.forEach((bar, index) => {
      const expected = official[index] as (typeof official)[number];
      expect([bar.timestamp, bar.open, bar.high, bar.low, bar.close]).toEqual([
        expected.timestamp,
        expected.open,
        expected.high,
        expected.low,
        expected.close,
      ]);
      expect(bar.volume).toBeCloseTo(expected.volume, 6);
    });
  });

  it('1m → 5m and 1h agree with the direct aggregation, aligned to the epoch', async () => {
    const minutes = await loadAllCandles(
      new CandleFile({ path: at('cobra0506-bybit-linear/BTCUSDT_1m.csv') }).batches(),
    );
    for (const target of [intervalMs('5m'), intervalMs('1h')]) {
      const resampled = await loadAllCandles(
        resampleBatches(
          new CandleFile({ path: at('cobra0506-bybit-linear/BTCUSDT_1m.csv') }).batches(),
          target,
        ),
      );
      const buckets = new Map<number, typeof minutes>();
      for (const bar of minutes) {
        const start = Math.floor(bar.timestamp / target) * target;
        buckets.set(start, [...(buckets.get(start) ?? []), bar]);
      }
      expect(resampled.map((bar) => bar.timestamp)).toEqual([...buckets.keys()]);
      for (const bar of resampled) {
        const group = buckets.get(bar.timestamp) as typeof minutes;
        expect(bar.open).toBe(group[0]?.open);
        expect(bar.close).toBe(group.at(-1)?.close);
        expect(bar.high).toBe(Math.max(...group.map((entry) => entry.high)));
        expect(bar.low).toBe(Math.min(...group.map((entry) => entry.low)));
      }
    }
  });

  it('drops partial edge buckets only when asked', async () => {
    // The 1m file starts at 16:39, mid-hour: the first 1h bucket has 21 minutes.
    const all = await loadAllCandles(
      resampleBatches(new CandleFile({ path: at('cobra0506-bybit-linear/BTCUSDT_1m.csv') }).batches(), HOUR, {
        sourceInterval: MINUTE,
      }),
    );
    const complete = await loadAllCandles(
      resampleBatches(new CandleFile({ path: at('cobra0506-bybit-linear/BTCUSDT_1m.csv') }).batches(), HOUR, {
        sourceInterval: MINUTE,
        dropPartial: true,
      }),
    );
    expect(all[0]?.timestamp).toBe(Date.parse('2025-05-30T16:00:00Z'));
    expect(complete[0]?.timestamp).toBe(Date.parse('2025-05-30T17:00:00Z'));
    expect(all.length - complete.length).toBe(2);
  });
});

describe('data problems are reported and handled', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-candles-'));
  const file = (name: string, text: string) => {
    const full = path.join(dir, name);
    writeFileSync(full, text);
    return full;
  };

  it('counts gaps, drops duplicates, out-of-order and invalid rows', async () => {
    const rows = ['time,open,high,low,close,volume'];
    const t = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString();
    for (let minute = 0; minute < 60; minute += 1) {
      if (minute >= 20 && minute < 23) continue; // a gap of three bars
      rows.push(`${t(minute)},100,101,99,100.5,1`);
      if (minute === 10) rows.push(`${t(minute)},200,201,199,200,1`); // a duplicate (second one dropped)
    }
    rows.push(`${t(5)},100,101,99,100,1`); // out of order
    rows.push(`${t(61)},100,99,101,100,1`); // high < low
    rows.push(`${t(62)},abc,101,99,100,1`); // not a number
    const source = new CandleFile({ path: file('gappy.csv', `${rows.join('\n')}\n`) });
    const candles = await loadAllCandles(source.batches());
    expect(source.report()).toMatchObject({
      rows: 61,
      bars: 57,
      interval: MINUTE,
      gaps: 1,
      missingBars: 3,
      duplicates: 1,
      outOfOrder: 1,
      invalid: 2,
      gapRanges: [
        { after: Date.UTC(2025, 0, 1, 0, 19), before: Date.UTC(2025, 0, 1, 0, 23), missingBars: 3 },
      ],
    });
    expect(candles.find((candle) => candle.timestamp === Date.UTC(2025, 0, 1, 0, 10))?.open).toBe(100);
  });

  it('maps columns and time formats it does not recognize', async () => {
    const source = new CandleFile({
      path: file('custom.csv', 'ts_s,o,h,l,c\n1735689600,1,2,0.5,1.5\n1735689660,1.5,2,1,1.8\n'),
      columns: { time: 'ts_s', open: 'o', high: 'h', low: 'l', close: 'c' },
      timeFormat: 's',
    });
    expect(await loadAllCandles(source.batches())).toEqual([
      { timestamp: 1735689600000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 0 },
      { timestamp: 1735689660000, open: 1.5, high: 2, low: 1, close: 1.8, volume: 0 },
    ]);
  });

  it('names the file and the column when a layout cannot be read', async () => {
    const source = new CandleFile({ path: file('bad.csv', 'when,price\n1,2\n') });
    await expect(loadAllCandles(source.batches())).rejects.toThrow(
      /bad\.csv: no time column found in the header \(when, price\)/,
    );
    expect(() => new CandleFile({ path: path.join(dir, 'missing.csv') })).toThrow(/candle file not found/);
  });
});
