import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ComponentSpec, parsePluginOptions, type Strategy } from '@perpkit/core';
import smaCross from 'perpkit-strategy-sma-cross';
import { describe, expect, it } from 'vitest';
import { type BacktestProgress, runBacktest } from '../src/backtest';
import { CandleFile, loadAllCandles } from '../src/candles';
import { loadFunding } from '../src/funding';
import { type TradeRecord, tradeListHash } from '../src/metrics';
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
    // The risk-adjusted ratios are numbers on a run with trades and drawdown (null only when undefined).
    for (const key of ['sharpe', 'sortino', 'calmar', 'annualReturn'] as const)
      expect(Number.isFinite(summary[key] as number), key).toBe(true);
    expect(Math.sign(summary.sharpe as number)).toBe(Math.sign(summary.totalReturn));
    expect(summary.calmar).toBeCloseTo((summary.annualReturn as number) / summary.maxDrawdown, 9);
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

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A strategy that records, at every cycle, the clock and the newest visible bar of each instrument. */
function visibilityRecorder(instruments: { exchange: string; symbol: string }[]) {
  const seen: { now: number; last: (number | undefined)[] }[] = [];
  const spec: ComponentSpec<Strategy> = {
    id: 'recorder',
    create: () => ({
      instruments: instruments.map((instrument) => ({ ...instrument, channels: ['candles' as const] })),
      onCycle: (state) => {
        seen.push({
          now: state.now,
          last: instruments.map(
            (instrument) => state.candles(instrument.exchange, instrument.symbol)?.last()?.timestamp,
          ),
        });
        return undefined;
      },
    }),
  };
  return { seen, spec };
}

describe('several instruments and venues on one clock', () => {
  const twoMarkets = {
    id: 'sim',
    sim: {
      ...smaVenue.sim,
      markets: [smaVenue.sim.markets[0]!, { ...smaVenue.sim.markets[0]!, symbol: 'ETH' }],
    },
  };

  it('never shows a bar before it closes: 1m BTC with 1h ETH, one forward-only clock', async () => {
    const { seen, spec } = visibilityRecorder([
      { exchange: 'sim', symbol: 'BTC' },
      { exchange: 'sim', symbol: 'ETH' },
    ]);
    const to = Date.parse('2025-05-30T19:00:00Z');
    const result = await runBacktest({
      venues: [twoMarkets],
      instruments: [
        { exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, to } },
        {
          exchange: 'sim',
          symbol: 'ETH',
          candles: { path: at('cobra0506-bybit-linear/ETHUSDT_1m.csv'), to },
          resample: '1h',
        },
      ],
      strategies: [spec],
    });
    const intervals = [MINUTE, HOUR];
    // BTC 1m from 16:39 to 18:59 (141 bars, closing 16:40 … 19:00); ETH hours 16:00, 17:00, 18:00
    // (closing 17:00, 18:00, 19:00), all on BTC close times.
    expect(result.summary.bars).toBe(141 + 3);
    expect(result.summary.steps).toBe(141);
    expect(seen).toHaveLength(141);
    let previous = Number.NEGATIVE_INFINITY;
    for (const { now, last } of seen) {
      expect(now, 'the clock only moves forward, one cycle per close time').toBeGreaterThan(previous);
      previous = now;
      last.forEach((open, index) => {
        if (open === undefined) return;
        expect(open + (intervals[index] as number), 'no bar is visible before it closes').toBeLessThanOrEqual(
          now,
        );
      });
      // Every cycle is at the close of the BTC minute just fed.
      expect((last[0] as number) + MINUTE).toBe(now);
    }
    const at1659 = seen.find((entry) => entry.now === Date.parse('2025-05-30T16:59:00Z'));
    const at1700 = seen.find((entry) => entry.now === Date.parse('2025-05-30T17:00:00Z'));
    const at1759 = seen.find((entry) => entry.now === Date.parse('2025-05-30T17:59:00Z'));
    expect(at1659?.last[1]).toBeUndefined();
    expect(at1700?.last[1]).toBe(Date.parse('2025-05-30T16:00:00Z'));
    expect(at1759?.last[1]).toBe(Date.parse('2025-05-30T16:00:00Z'));
    expect(seen.at(-1)?.last[1]).toBe(Date.parse('2025-05-30T18:00:00Z'));
  });

  it('merges bars of different intervals by close time, one cycle per distinct close time', async () => {
    const { seen, spec } = visibilityRecorder([
      { exchange: 'sim', symbol: 'BTC' },
      { exchange: 'sim', symbol: 'ETH' },
    ]);
    const to = Date.parse('2025-05-30T18:00:00Z');
    const from = Date.parse('2025-05-30T16:00:00Z');
    const result = await runBacktest({
      venues: [twoMarkets],
      instruments: [
        { exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, to } },
        {
          exchange: 'sim',
          symbol: 'ETH',
          candles: { path: at('cobra0506-bybit-linear/ETHUSDT_5m.csv'), from, to },
        },
      ],
      strategies: [spec],
    });
    // BTC 1m from 16:39 to 17:59 (81 bars); ETH 5m from 16:00 to 17:55 (24 bars).
    expect(result.summary.bars).toBe(81 + 24);
    const closes = new Set<number>();
    for (let open = Date.parse('2025-05-30T16:39:00Z'); open < to; open += MINUTE) closes.add(open + MINUTE);
    for (let open = from; open < to; open += 5 * MINUTE) closes.add(open + 5 * MINUTE);
    expect(result.summary.steps).toBe(closes.size);
    expect(seen.map((entry) => entry.now)).toEqual([...closes].sort((a, b) => a - b));
    expect(result.summary.start).toBe(from);
    expect(result.summary.end).toBe(to);
    for (const { now, last } of seen) {
      if (last[0] !== undefined) expect(last[0] + MINUTE).toBeLessThanOrEqual(now);
      if (last[1] !== undefined) expect(last[1] + 5 * MINUTE).toBeLessThanOrEqual(now);
    }
  });

  it("a venue's acknowledgement latency runs on the shared clock, not at its instrument's next bar", async () => {
    const transitions: [string, number][] = [];
    const trader: ComponentSpec<Strategy> = {
      id: 'trader',
      create: (context) => {
        let sent = false;
        return {
          instruments: [
            { exchange: 'sim', symbol: 'BTC', channels: ['candles'] },
            { exchange: 'sim', symbol: 'ETH', channels: ['candles'] },
          ],
          onCycle: (state) => {
            if (sent || !state.candles('sim', 'ETH')?.last()) return undefined;
            sent = true;
            return [
              {
                intent: 'open',
                exchange: 'sim',
                symbol: 'ETH',
                side: 'buy',
                quantity: 0.01,
                reasons: [{ code: 'TEST', message: 'one order' }],
              },
            ];
          },
          onOrder: (order) => {
            transitions.push([order.status, context.clock.now()]);
          },
        };
      },
    };
    const to = Date.parse('2025-05-30T19:00:00Z');
    await runBacktest({
      venues: [{ ...twoMarkets, sim: { ...twoMarkets.sim, ackLatencyMs: 5_000 } }],
      instruments: [
        { exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, to } },
        {
          exchange: 'sim',
          symbol: 'ETH',
          candles: { path: at('cobra0506-bybit-linear/ETHUSDT_1m.csv'), to },
          resample: '1h',
        },
      ],
      strategies: [trader],
    });
    // Sent at 17:00 (the first ETH hour's close); acknowledged 5 s later, seen when the clock
    // passes 17:00:05 at the 17:01 step, not when the next ETH bar arrives at 18:00.
    expect(transitions.slice(0, 2)).toEqual([
      ['pending', Date.parse('2025-05-30T17:00:00Z')],
      ['open', Date.parse('2025-05-30T17:01:00Z')],
    ]);
    expect(transitions.at(-1)?.[0]).toBe('filled');
  });

  it('two venues: Binance 8h and Hyperliquid 1h funding settle on one clock, each at its own cadence', async () => {
    const from = Date.parse('2026-04-27T00:00:00Z');
    const to = Date.parse('2026-05-11T00:00:00Z');
    const candleFile = at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv');
    const binanceFunding = at('gg-cmk-binance-quant/BTCUSDT-funding.csv');
    const hyperliquidFunding = at('rishisidhu-hyperliquid-funding/funding_history.csv');
    const payments: { exchange: string; time: number; amount: number }[] = [];
    let opened = false;
    const arbitrage: ComponentSpec<Strategy> = {
      id: 'funding-arb',
      create: () => ({
        instruments: [
          { exchange: 'binance', symbol: 'BTC' },
          { exchange: 'hyperliquid', symbol: 'BTC' },
        ],
        onCycle: () => {
          if (opened) return undefined;
          opened = true;
          const leg = (exchange: string, side: 'buy' | 'sell') => ({
            intent: 'open' as const,
            exchange,
            symbol: 'BTC',
            side,
            quantity: 0.5,
            groupId: 'arb',
            reasons: [{ code: 'ARB', message: 'short Binance, long Hyperliquid' }],
          });
          return [leg('binance', 'sell'), leg('hyperliquid', 'buy')];
        },
        onFunding: (payment) => {
          payments.push({ exchange: payment.exchange, time: payment.fundingTime, amount: payment.amount });
        },
      }),
    };
    const venue = (id: string, fundingIntervalHours: number) => ({
      id,
      sim: {
        ...smaVenue.sim,
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingIntervalHours }],
      },
    });
    const result = await runBacktest({
      venues: [venue('binance', 8), venue('hyperliquid', 1)],
      instruments: [
        {
          exchange: 'binance',
          symbol: 'BTC',
          candles: { path: candleFile, from, to },
          funding: { path: binanceFunding },
        },
        {
          exchange: 'hyperliquid',
          symbol: 'BTC',
          // No Hyperliquid candles exist for this window; Binance's stand in (see the data README).
          candles: { path: candleFile, from, to },
          funding: { path: hyperliquidFunding, symbol: 'BTC' },
        },
      ],
      strategies: [arbitrage],
    });
    expect(result.summary.steps).toBe(14 * 24);
    expect(result.summary.bars).toBe(2 * 14 * 24);
    expect(result.openPositions.map((position) => [position.exchange, position.quantity])).toEqual([
      ['binance', -0.5],
      ['hyperliquid', 0.5],
    ]);
    // Independently: both legs fill at the second bar's open; every later settlement up to the last
    // bar's open pays the short +0.5 × open × rate and costs the long 0.5 × open × rate.
    const candles = await loadAllCandles(new CandleFile({ path: candleFile, from, to }).batches());
    const openAt = new Map(candles.map((candle) => [candle.timestamp, candle.open]));
    const filledAt = candles[1]?.timestamp as number;
    const lastOpen = candles.at(-1)?.timestamp as number;
    const expected = async (file: string, symbol: string | undefined, sign: number) =>
      (await loadFunding({ path: file, ...(symbol ? { symbol } : {}) })).points
        .filter((point) => point.time > filledAt && point.time <= lastOpen)
        .map((point) => ({
          time: point.time,
          amount: sign * 0.5 * (openAt.get(point.time) as number) * point.rate,
        }));
    const binance = await expected(binanceFunding, undefined, 1);
    const hyperliquid = await expected(hyperliquidFunding, 'BTC', -1);
    expect(binance).toHaveLength(41);
    expect(hyperliquid).toHaveLength(14 * 24 - 2);
    const paid = (exchange: string) =>
      payments
        .filter((payment) => payment.exchange === exchange)
        .map(({ time, amount }) => ({ time, amount }));
    for (const [exchange, wanted] of [
      ['binance', binance],
      ['hyperliquid', hyperliquid],
    ] as const) {
      const actual = paid(exchange);
      expect(actual.map((payment) => payment.time)).toEqual(wanted.map((payment) => payment.time));
      actual.forEach((payment, index) => {
        expect(payment.amount).toBeCloseTo((wanted[index] as { amount: number }).amount, 9);
      });
    }
    const total = [...binance, ...hyperliquid].reduce((sum, payment) => sum + payment.amount, 0);
    expect(result.summary.fundingPnl).toBeCloseTo(total, 9);
    expect(result.data.funding.map((report) => [report.format, report.intervalHours])).toEqual([
      ['binance', 8],
      ['hyperliquid', 1],
    ]);
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

describe('mark prices in backtests', () => {
  const xrp = (name: string) => at(`freqtrade-testdata-futures/XRP_USDT_USDT-${name}.json`);
  const xrpVenue = (fundingIntervalHours: number, extra: Record<string, unknown> = {}) => ({
    id: 'sim',
    sim: {
      ...smaVenue.sim,
      ...extra,
      markets: [{ symbol: 'XRP', tickSize: '0.0001', lotSize: '1', fundingIntervalHours }],
    },
  });
  /** Holds `quantity` XRP (negative: short) from the first cycle on. */
  const hold = (quantity: number): ComponentSpec<Strategy> => {
    let opened = false;
    return {
      id: 'hold',
      create: () => ({
        onCycle: () => {
          if (opened) return undefined;
          opened = true;
          return [
            {
              intent: 'open',
              exchange: 'sim',
              symbol: 'XRP',
              side: quantity > 0 ? 'buy' : 'sell',
              quantity: Math.abs(quantity),
              reasons: [{ code: 'HOLD', message: 'hold' }],
            },
          ];
        },
      }),
    };
  };

  it('settles funding at the mark of each settlement time, not at the traded price', async () => {
    const candles = await loadAllCandles(new CandleFile({ path: xrp('1h-futures') }).batches());
    const marks = await loadAllCandles(new CandleFile({ path: xrp('8h-mark') }).batches());
    const funding = (await loadFunding({ path: xrp('8h-funding_rate') })).points;
    const result = await runBacktest({
      venues: [xrpVenue(8)],
      instruments: [
        {
          exchange: 'sim',
          symbol: 'XRP',
          candles: { path: xrp('1h-futures') },
          funding: { path: xrp('8h-funding_rate') },
          marks: { path: xrp('8h-mark') },
        },
      ],
      strategies: [hold(-100_000)],
    });
    const filledAt = candles[1]?.timestamp as number;
    const lastOpen = candles.at(-1)?.timestamp as number;
    const markAt = (time: number) => marks.filter((mark) => mark.timestamp <= time).at(-1)?.open as number;
    const openAt = new Map(candles.map((candle) => [candle.timestamp, candle.open]));
    const due = funding.filter((point) => point.time > filledAt && point.time <= lastOpen);
    expect(due).toHaveLength(10);
    const atMarks = due.reduce((sum, point) => sum + 100_000 * markAt(point.time) * point.rate, 0);
    const atOpens = due.reduce(
      (sum, point) => sum + 100_000 * (openAt.get(point.time) as number) * point.rate,
      0,
    );
    // The marks differ from the traded opens, so the check below tells them apart.
    expect(Math.abs(atMarks - atOpens)).toBeGreaterThan(0.01);
    expect(result.summary.fundingPnl).toBeCloseTo(atMarks, 9);
    expect(result.data.marks.map((report) => report.bars)).toEqual([91]);
  });

  it('with marks but no funding file, settles the market rate on its grid at the marks', async () => {
    const candles = await loadAllCandles(new CandleFile({ path: xrp('1h-futures') }).batches());
    const marks = await loadAllCandles(new CandleFile({ path: xrp('1h-mark') }).batches());
    const ratePerHour = 0.0001;
    const result = await runBacktest({
      venues: [xrpVenue(8, { defaultFundingRatePerHour: ratePerHour })],
      instruments: [
        {
          exchange: 'sim',
          symbol: 'XRP',
          candles: { path: xrp('1h-futures') },
          marks: { path: xrp('1h-mark') },
        },
      ],
      strategies: [hold(1000)],
    });
    const filledAt = candles[1]?.timestamp as number;
    const lastOpen = candles.at(-1)?.timestamp as number;
    const markAt = (time: number) => marks.filter((mark) => mark.timestamp <= time).at(-1)?.open as number;
    let expected = 0;
    let settlements = 0;
    for (let time = Math.ceil(filledAt / (8 * HOUR)) * 8 * HOUR; time <= lastOpen; time += 8 * HOUR) {
      if (time === filledAt) continue;
      settlements += 1;
      expected -= 1000 * markAt(time) * ratePerHour * 8;
    }
    expect(settlements).toBe(12);
    expect(result.summary.fundingPnl).toBeCloseTo(expected, 9);
  });
});

describe('regimes, reasons and hand-computed results end to end', () => {
  /** Six 1m bars with round numbers; the strategy's fills land on bars 1, 3, 4 and 5's opens. */
  const SCRIPT_BARS = [
    [100, 101, 99, 100],
    [100, 104, 99, 103],
    [103, 109, 102, 108],
    [110, 111, 107, 108],
    [108, 109, 104, 105],
    [105, 106, 100, 101],
    [101, 102, 100, 100],
  ];
  const scriptFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-script-'));
    const file = path.join(dir, 'bars.csv');
    const start = Date.parse('2025-01-01T00:00:00Z');
    writeFileSync(
      file,
      `timestamp,open,high,low,close,volume\n${SCRIPT_BARS.map(
        ([open, high, low, close], index) => `${start + index * MINUTE},${open},${high},${low},${close},10`,
      ).join('\n')}\n`,
    );
    return file;
  };
  /** Cycle 1: buy 2 (regime "up"); cycle 3: close; cycle 4: buy 1 (regime "down"); cycle 5: close. */
  const scripted: ComponentSpec<Strategy> = {
    id: 'script',
    create: () => {
      let cycle = 0;
      return {
        onCycle: () => {
          cycle += 1;
          const open = (quantity: number, regime: string) => [
            {
              intent: 'open' as const,
              exchange: 'sim',
              symbol: 'BTC',
              side: 'buy' as const,
              quantity,
              regime,
              reasons: [{ code: `ENTRY_${regime.toUpperCase()}`, message: regime }],
            },
          ];
          const close = [
            {
              intent: 'close' as const,
              exchange: 'sim',
              symbol: 'BTC',
              reasons: [{ code: 'EXIT', message: 'x' }],
            },
          ];
          if (cycle === 1) return open(2, 'up');
          if (cycle === 3) return close;
          if (cycle === 4) return open(1, 'down');
          if (cycle === 5) return close;
          return undefined;
        },
      };
    },
  };
  const scriptVenue = {
    id: 'sim',
    sim: {
      ...smaVenue.sim,
      fees: { maker: 0.001, taker: 0.001 },
      markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001' }],
      accounts: [{ id: 'main', balance: 10_000 }],
    },
  };

  it('win rate, exposure and turnover equal the hand-computed values', async () => {
    const result = await runBacktest({
      venues: [scriptVenue],
      instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: scriptFile() } }],
      strategies: [scripted],
    });
    // Fills: buy 2 @ 100 (bar 1 open), sell 2 @ 110 (bar 3), buy 1 @ 108 (bar 4), sell 1 @ 105 (bar 5).
    // Trade 1: 2 × (110 − 100) − 0.001 × (200 + 220) = 19.58 (won); trade 2: −3 − 0.001 × 213 = −3.213 (lost).
    expect(result.trades.map((trade) => trade.netPnl)).toEqual([
      expect.closeTo(19.58, 9),
      expect.closeTo(-3.213, 9),
    ]);
    expect(result.summary.winRate).toBe(0.5);
    // In the market after bars 1, 2 and 4, of 7 steps.
    expect(result.summary.exposure).toBeCloseTo(3 / 7, 12);
    // (200 + 220 + 108 + 105) / 10 000.
    expect(result.summary.turnover).toBeCloseTo(0.0633, 12);
    expect(result.summary.fees).toBeCloseTo(0.633, 12);
    expect(result.summary.finalEquity).toBeCloseTo(10_000 + 19.58 - 3.213, 9);
  });

  it('a strategy that labels regimes gets a per-regime breakdown in the result and the report', async () => {
    const result = await runBacktest({
      venues: [scriptVenue],
      instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: scriptFile() } }],
      strategies: [scripted],
    });
    expect(result.trades.map((trade) => trade.regime)).toEqual(['up', 'down']);
    expect(
      result.breakdowns.byRegime.map((row) => [row.key, row.trades, row.wins, Number(row.netPnl.toFixed(6))]),
    ).toEqual([
      ['down', 1, 0, -3.213],
      ['up', 1, 1, 19.58],
    ]);
    expect(result.breakdowns.byReason.map((row) => row.key)).toEqual(['ENTRY_DOWN', 'ENTRY_UP']);
    expect(result.breakdowns.byExitReason.map((row) => [row.key, row.trades])).toEqual([['EXIT', 2]]);
    const html = renderHtmlReport(result);
    const regimeTable = html.slice(html.indexOf('<h3>By regime</h3>'), html.indexOf('<h3>By strategy</h3>'));
    expect(regimeTable).toContain('<td>up</td><td>1</td><td>100.00%</td><td>19.58</td>');
    expect(regimeTable).toContain('<td>down</td><td>1</td><td>0.00%</td><td>-3.21</td>');
  });
});

describe('long runs: bounded results, streamed trades, progress', () => {
  const sixDays = {
    exchange: 'sim',
    symbol: 'BTC',
    candles: { path: BYBIT_BTC_1M, to: Date.parse('2025-06-05T00:00:00Z') },
  };

  it('keepTrades: false gives the same summary, hash and breakdowns, and onTrade sees every trade', async () => {
    const kept = await runBacktest({ venues: [smaVenue], instruments: [sixDays], strategies: [sma()] });
    const streamed: TradeRecord[] = [];
    const lean = await runBacktest({
      venues: [smaVenue],
      instruments: [sixDays],
      strategies: [sma()],
      keepTrades: false,
      onTrade: (trade) => streamed.push(trade),
    });
    expect(lean.trades).toEqual([]);
    expect(streamed).toEqual(kept.trades);
    expect({ ...lean.summary, engineMs: 0, barsPerSecond: 0 }).toEqual({
      ...kept.summary,
      engineMs: 0,
      barsPerSecond: 0,
    });
    expect(lean.summary.tradeListHash).toBe(tradeListHash(kept.trades));
    expect(lean.breakdowns).toEqual(kept.breakdowns);
  });

  it('reports progress in bars fed against an estimate that converges, and done exactly once', async () => {
    const reports: BacktestProgress[] = [];
    const result = await runBacktest({
      venues: [smaVenue],
      instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, batchSize: 4096 } }],
      strategies: [sma()],
      onProgress: (progress) => reports.push(progress),
    });
    expect(reports.length).toBeGreaterThan(5);
    expect(reports.filter((progress) => progress.done)).toHaveLength(1);
    const last = reports.at(-1) as BacktestProgress;
    expect(last).toMatchObject({ done: true, fraction: 1, bars: 43_200, estimatedBars: 43_200 });
    for (let index = 1; index < reports.length; index += 1) {
      const [before, after] = [reports[index - 1], reports[index]] as [BacktestProgress, BacktestProgress];
      expect(after.bars).toBeGreaterThanOrEqual(before.bars);
      expect(after.fraction).toBeGreaterThanOrEqual(before.fraction);
    }
    for (const progress of reports.slice(0, -1)) {
      // The share of bytes behind the bars fed tracks the share of bars fed (the rows are all the
      // same length), so 100 % never shows before the end.
      expect(progress.fraction).toBeLessThan(1);
      expect(Math.abs(progress.fraction - progress.bars / 43_200)).toBeLessThan(0.1);
      if (progress.bars > 10_000)
        expect(Math.abs((progress.estimatedBars as number) / 43_200 - 1)).toBeLessThan(0.02);
    }
    expect(result.summary.bars).toBe(43_200);
  });

  it("the report marks all of the example's 867 trades and lists the funding data", async () => {
    const result = await runBacktest({
      venues: [smaVenue],
      instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M } }],
      strategies: [sma()],
    });
    expect(result.summary.trades).toBe(867);
    const html = renderHtmlReport(result);
    expect(html.match(/<g class="trade-marker">/g)).toHaveLength(867);
    expect(html).toContain('867 of 867 trades marked');
    expect(html).toContain(BYBIT_BTC_1M);

    const funded = await runBacktest({
      venues: [
        {
          id: 'sim',
          sim: { ...smaVenue.sim, markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001' }] },
        },
      ],
      instruments: [
        {
          exchange: 'sim',
          symbol: 'BTC',
          candles: {
            path: at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv'),
            to: Date.parse('2025-02-01T00:00:00Z'),
          },
          funding: { path: at('gg-cmk-binance-quant/BTCUSDT-funding.csv') },
        },
      ],
      strategies: [sma()],
    });
    const fundingSection = renderHtmlReport(funded).split('<h3>Funding</h3>')[1] ?? '';
    expect(fundingSection).toContain('BTCUSDT-funding.csv</td><td>binance</td><td>1731</td><td>8h</td>');
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
