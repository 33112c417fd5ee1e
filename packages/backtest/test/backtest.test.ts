import { type ComponentSpec, parsePluginOptions, type Strategy } from '@perpkit/core';
import smaCross from 'perpkit-strategy-sma-cross';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../src/backtest';
import { CandleFile, loadAllCandles } from '../src/candles';
import { loadFunding } from '../src/funding';
import { renderHtmlReport } from '../src/report';
import { at } from './data';

const BYBIT_BTC_1M = at('cobra0506-bybit-linear/BTCUSDT_1m.csv');
const FEE = 0.0005;

const smaVenue = {
  id: 'sim',
  sim: {
    fillModel: 'next-open' as const,
    slippage: 0,
    fees: { maker: FEE, taker: FEE },
    defaultFundingRatePerHour: 0,
    markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 100 }],
    accounts: [{ id: 'main', balance: 1_000_000 }],
  },
};

function sma(symbol = 'BTC', quantity = 1, exchange = 'sim'): ComponentSpec<Strategy> {
  const options = parsePluginOptions(smaCross, { exchange, symbol, fast: 10, slow: 30, quantity });
  return { id: 'sma-cross', create: (context) => smaCross.setup(context, options) };
}

/**
 * The SMA example's rules, written out plainly and independently of the engine: integer closes on
 * the 0.1 grid, SMAs from scratch at every bar, decisions at the close, fills at the next open.
 */
function referenceSma(
  candles: { timestamp: number; open: number; close: number }[],
  quantity: number,
  cash: number,
) {
  const closes = candles.map((candle) => Math.round(candle.close * 10));
  const sum = (from: number, to: number) => closes.slice(from, to).reduce((total, value) => total + value, 0);
  let lastNonZero = 0;
  let position = 0;
  let pending: 'buy' | 'sell' | undefined;
  let fees = 0;
  let entry: { time: number; price: number } | undefined;
  const trades: { openedAt: number; closedAt: number; entryPrice: number; exitPrice: number }[] = [];
  for (let t = 0; t < candles.length; t += 1) {
    const bar = candles[t] as (typeof candles)[number];
    if (pending) {
      const fee = FEE * quantity * bar.open;
      fees += fee;
      if (pending === 'buy') {
        cash -= quantity * bar.open + fee;
        position = quantity;
        entry = { time: bar.timestamp, price: bar.open };
      } else {
        cash += quantity * bar.open - fee;
        position = 0;
        trades.push({
          openedAt: (entry as { time: number }).time,
          closedAt: bar.timestamp,
          entryPrice: (entry as { price: number }).price,
          exitPrice: bar.open,
        });
      }
      pending = undefined;
    }
    if (t + 1 < 30) continue;
    const difference = sum(t + 1 - 10, t + 1) * 30 - sum(t + 1 - 30, t + 1) * 10;
    const d = Math.sign(difference);
    if (d === 0) continue;
    const up = lastNonZero < 0 && d > 0;
    const down = lastNonZero > 0 && d < 0;
    lastNonZero = d;
    if (up && position === 0) pending = 'buy';
    else if (down && position > 0) pending = 'sell';
  }
  const last = candles.at(-1) as (typeof candles)[number];
  return { trades, fees, finalEquity: cash + position * last.close, openPosition: position };
}

describe('the SMA example on real data', () => {
  it('matches an independent implementation of its rules trade for trade', async () => {
    const candles = await loadAllCandles(new CandleFile({ path: BYBIT_BTC_1M }).batches());
    const expected = referenceSma(candles, 1, 1_000_000);
    const result = await runBacktest({
      venues: [smaVenue],
      instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M } }],
      strategies: [sma()],
    });
    expect(
      result.trades.map((trade) => [trade.openedAt, trade.closedAt, trade.entryPrice, trade.exitPrice]),
    ).toEqual(
      expected.trades.map((trade) => [trade.openedAt, trade.closedAt, trade.entryPrice, trade.exitPrice]),
    );
    expect(result.summary.trades).toBe(expected.trades.length);
    expect(result.summary.fees).toBeCloseTo(expected.fees, 6);
    expect(result.summary.finalEquity).toBeCloseTo(expected.finalEquity, 6);
    expect(result.openPositions.map((position) => position.quantity)).toEqual(
      expected.openPosition ? [1] : [],
    );
    expect(result.summary).toMatchObject({ bars: 43_200, steps: 43_200, slippage: 0, fundingPnl: 0 });
    for (const trade of result.trades) {
      expect(trade.fees).toBeCloseTo(FEE * (trade.entryPrice + trade.exitPrice), 9);
      expect(trade.pricePnl).toBeCloseTo(trade.exitPrice - trade.entryPrice, 9);
      expect(trade.entryReasons).toEqual(['SMA_CROSS_UP']);
      expect(trade.exitReasons).toEqual(['SMA_CROSS_DOWN']);
    }
  });

  it('is deterministic: the same config and data give the same trade-list hash', async () => {
    const run = () =>
      runBacktest({
        venues: [smaVenue],
        instruments: [
          {
            exchange: 'sim',
            symbol: 'BTC',
            candles: { path: BYBIT_BTC_1M, to: Date.parse('2025-06-05T00:00:00Z') },
          },
        ],
        strategies: [sma()],
      });
    const [first, second] = [await run(), await run()];
    expect(first.summary.trades).toBeGreaterThan(50);
    expect(second.summary.tradeListHash).toBe(first.summary.tradeListHash);
    expect(second.summary.finalEquity).toBe(first.summary.finalEquity);
  });

  it('fills the JSON summary, the breakdowns and a self-contained HTML report', async () => {
    const result = await runBacktest({
      venues: [smaVenue],
      instruments: [
        {
          exchange: 'sim',
          symbol: 'BTC',
          candles: { path: BYBIT_BTC_1M, to: Date.parse('2025-06-03T00:00:00Z') },
        },
      ],
      strategies: [sma()],
    });
    const { summary } = result;
    for (const key of [
      'bars',
      'trades',
      'finalEquity',
      'totalReturn',
      'maxDrawdown',
      'winRate',
      'fees',
      'slippage',
      'fundingPnl',
      'exposure',
      'turnover',
      'engineMs',
      'tradeListHash',
    ] as const) {
      expect(summary[key], key).toBeDefined();
    }
    expect(summary.exposure).toBeGreaterThan(0);
    expect(summary.exposure).toBeLessThanOrEqual(1);
    expect(summary.turnover).toBeCloseTo(
      result.trades.reduce((sum, trade) => sum + trade.quantity * (trade.entryPrice + trade.exitPrice), 0) /
        1_000_000 +
        (result.openPositions.length ? result.openPositions[0]!.entryPrice / 1e6 : 0),
      6,
    );
    expect(result.breakdowns.byReason.map((row) => row.key)).toEqual(['SMA_CROSS_UP']);
    expect(result.breakdowns.signalsByReason.SMA_CROSS_UP).toBeGreaterThan(0);
    const html = renderHtmlReport(result, 'sma <test>');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).toContain('sma &lt;test&gt;');
    expect((html.match(/<tr>/g) ?? []).length).toBeGreaterThanOrEqual(result.trades.length);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
  });
});

describe('several instruments and venues on one clock', () => {
  it('merges bars of different intervals in time order, one cycle per distinct time', async () => {
    const seen: string[] = [];
    const recorder: ComponentSpec<Strategy> = {
      id: 'recorder',
      create: () => ({
        instruments: [
          { exchange: 'sim', symbol: 'BTC', channels: ['candles'] },
          { exchange: 'sim', symbol: 'ETH', channels: ['candles'] },
        ],
        onCycle: (state) => {
          seen.push(
            `${state.now}:${state.candles('sim', 'BTC')?.last()?.timestamp}:${state.candles('sim', 'ETH')?.last()?.timestamp}`,
          );
          return undefined;
        },
      }),
    };
    const to = Date.parse('2025-05-30T18:00:00Z');
    const result = await runBacktest({
      venues: [
        {
          id: 'sim',
          sim: {
            ...smaVenue.sim,
            markets: [smaVenue.sim.markets[0]!, { ...smaVenue.sim.markets[0]!, symbol: 'ETH' }],
          },
        },
      ],
      instruments: [
        { exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, to } },
        {
          exchange: 'sim',
          symbol: 'ETH',
          candles: {
            path: at('cobra0506-bybit-linear/ETHUSDT_5m.csv'),
            from: Date.parse('2025-05-30T16:00:00Z'),
            to,
          },
        },
      ],
      strategies: [recorder],
    });
    // BTC 1m from 16:39 to 17:59 (81 bars); ETH 5m from 16:00 to 17:55 (24 bars); 16:40..17:55 step every 5 min coincide.
    expect(result.summary.bars).toBe(81 + 24);
    const times = new Set<number>();
    for (let minute = 0; minute < 120; minute += 1) {
      const time = Date.parse('2025-05-30T16:00:00Z') + minute * 60_000;
      if (time >= Date.parse('2025-05-30T16:39:00Z') || minute % 5 === 0) times.add(time);
    }
    expect(result.summary.steps).toBe(times.size);
    const clocks = seen.map((entry) => Number(entry.split(':')[0]));
    expect([...clocks].sort((a, b) => a - b)).toEqual(clocks);
  });
});

describe('funding in backtests', () => {
  it('settles real Binance 8h funding on a held position at the bar open of each settlement', async () => {
    const from = Date.parse('2025-01-01T00:00:00Z');
    const to = Date.parse('2025-01-15T00:00:00Z');
    let opened = false;
    const hold: ComponentSpec<Strategy> = {
      id: 'hold',
      create: () => ({
        onCycle: () => {
          if (opened) return undefined;
          opened = true;
          return [
            {
              intent: 'open',
              exchange: 'binance',
              symbol: 'BTC',
              side: 'sell',
              quantity: 0.5,
              reasons: [{ code: 'HOLD', message: 'hold a short' }],
            },
          ];
        },
      }),
    };
    const candleFile = at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv');
    const fundingFile = at('gg-cmk-binance-quant/BTCUSDT-funding.csv');
    const result = await runBacktest({
      venues: [
        {
          id: 'binance',
          sim: {
            ...smaVenue.sim,
            fillModel: 'next-open',
            markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingIntervalHours: 8 }],
          },
        },
      ],
      instruments: [
        {
          exchange: 'binance',
          symbol: 'BTC',
          candles: { path: candleFile, from, to },
          funding: { path: fundingFile },
        },
      ],
      strategies: [hold],
    });
    // Independently: the short opens at the second bar's open; every later settlement pays
    // +0.5 × open(T) × rate(T) to the short.
    const candles = await loadAllCandles(new CandleFile({ path: candleFile, from, to }).batches());
    const openAt = new Map(candles.map((candle) => [candle.timestamp, candle.open]));
    const settlements = (await loadFunding({ path: fundingFile })).points.filter(
      (point) => point.time > (candles[1]?.timestamp as number) && point.time < to,
    );
    const expected = settlements.reduce(
      (sum, point) => sum + 0.5 * (openAt.get(point.time) as number) * point.rate,
      0,
    );
    expect(settlements.length).toBe(41);
    expect(result.summary.fundingPnl).toBeCloseTo(expected, 9);
  });

  it("refuses a market whose funding interval is not the data's, naming the 8× error", async () => {
    await expect(
      runBacktest({
        venues: [
          {
            id: 'sim',
            sim: {
              ...smaVenue.sim,
              markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingIntervalHours: 1 }],
            },
          },
        ],
        instruments: [
          {
            exchange: 'sim',
            symbol: 'BTC',
            candles: { path: at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv') },
            funding: { path: at('gg-cmk-binance-quant/BTCUSDT-funding.csv') },
          },
        ],
        strategies: [],
      }),
    ).rejects.toThrow(/settles every 8h but market sim:BTC declares fundingIntervalHours 1.*8×/);
  });
});

describe('bad input', () => {
  it('names the missing piece', async () => {
    await expect(runBacktest({ venues: [], instruments: [] })).rejects.toThrow(/at least one venue/);
    await expect(
      runBacktest({
        venues: [smaVenue],
        instruments: [{ exchange: 'nope', symbol: 'BTC', candles: { path: BYBIT_BTC_1M } }],
      }),
    ).rejects.toThrow(/names exchange "nope", which is not a backtest venue \(sim\)/);
    await expect(
      runBacktest({
        venues: [smaVenue],
        instruments: [{ exchange: 'sim', symbol: 'DOGE', candles: { path: BYBIT_BTC_1M } }],
      }),
    ).rejects.toThrow(/venue "sim" has no market DOGE/);
  });
});
