/*
 * The strategy in the backtester on two venues' real funding histories: Binance (8h) vs
 * Hyperliquid (1h) BTC, 2026-04-26 → 2026-06-05, with Binance BTC 1h candles as prices for both.
 * The pair books must agree with the venues to the cent: equity, fees, slippage and funding.
 */
import { fileURLToPath } from 'node:url';
import { type BacktestOptions, runBacktest } from '@perpkit/backtest';
import { parsePluginOptions } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import fundingArb, { EXIT_CODES, type FundingArbOptionsInput, type FundingArbStrategy } from '../src/index';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const CANDLES = `${DATA}gg-cmk-binance-quant/BTCUSDT-1h-futures.csv`;
const FROM = Date.parse('2026-04-26T18:00:00Z');
const TO = Date.parse('2026-06-05T18:00:00Z');

/** The example config (examples/funding-arb.backtest.yaml), as the backtester's options. */
const STRATEGY: FundingArbOptionsInput = {
  markets: [
    {
      asset: 'BTC',
      venues: [
        { exchange: 'binance', symbol: 'BTC' },
        { exchange: 'hyperliquid', symbol: 'BTC' },
      ],
    },
  ],
  entry: {
    maxNotional: 50_000,
    holdHours: 72,
    lookbackHours: 8,
    minNetEvBps: 1,
    fallbackSlippageBps: 0.5,
    feeAssumption: 'maker',
    cooldown: '4h',
  },
  execution: { makerTimeout: '1h', makerOffsetBps: 2, iocSlippageBps: 30 },
  exits: {
    minHold: '8h',
    netEv: { horizonHours: 24 },
    fundingFlip: { confirmHours: 3 },
    takeProfit: { netPnlBps: 60 },
    velocity: { dropApyPerHour: 0.05 },
    zScore: { threshold: 2.5, window: 168, minSamples: 48 },
  },
};

function backtest(to = TO): { options: BacktestOptions; strategy: () => FundingArbStrategy } {
  let instance: FundingArbStrategy | undefined;
  const options = parsePluginOptions(fundingArb, STRATEGY);
  const venue = (
    id: string,
    fees: { maker: number; taker: number },
    market: { tickSize: string; lotSize: string; minNotional: number; fundingIntervalHours: number },
  ) => ({
    id,
    sim: {
      venue: id,
      fillModel: 'next-open' as const,
      slippage: 0.0002,
      fees,
      markets: [{ symbol: 'BTC', maxLeverage: 20, ...market }],
      accounts: [{ id: 'main', balance: 50_000 }],
    },
  });
  return {
    options: {
      venues: [
        venue(
          'binance',
          { maker: 0.0002, taker: 0.0005 },
          { tickSize: '0.1', lotSize: '0.001', minNotional: 100, fundingIntervalHours: 8 },
        ),
        venue(
          'hyperliquid',
          { maker: 0.00015, taker: 0.00045 },
          { tickSize: '1', lotSize: '0.00001', minNotional: 10, fundingIntervalHours: 1 },
        ),
      ],
      instruments: [
        {
          exchange: 'binance',
          symbol: 'BTC',
          candles: { path: CANDLES, from: FROM, to },
          funding: { path: `${DATA}gg-cmk-binance-quant/BTCUSDT-funding.csv` },
        },
        {
          exchange: 'hyperliquid',
          symbol: 'BTC',
          candles: { path: CANDLES, from: FROM, to },
          funding: { path: `${DATA}rishisidhu-hyperliquid-funding/funding_history.csv`, symbol: 'BTC' },
        },
      ],
      strategies: [
        {
          id: 'funding-arb',
          create: (context) => {
            instance = fundingArb.setup(context, options) as FundingArbStrategy;
            return instance;
          },
        },
      ],
    },
    strategy: () => instance as FundingArbStrategy,
  };
}

describe('backtest on Binance 8h vs Hyperliquid 1h funding', () => {
  it('samples the hourly spread from both venues normalized once (the 8× error pinned end to end)', async () => {
    // The last cycle is at 2026-05-01 09:00, after the 08:00 bar: the newest rates are Binance's
    // 08:00 settlement (−1.81e-5 per 8h) and Hyperliquid's 08:00 hour (5.068e-7 per 1h).
    const run = backtest(Date.parse('2026-05-01T09:00:00Z')); // bars opening before 09:00
    await runBacktest(run.options);
    const samples = run.strategy().spreadSamples('BTC', 'binance', 'hyperliquid');
    expect(samples.at(-1)).toBeCloseTo((5.068e-7 + 1.81e-5 / 8) * 8760, 12);
    // Read the other way round, the same sample with the sign flipped.
    expect(run.strategy().spreadSamples('BTC', 'hyperliquid', 'binance').at(-1)).toBeCloseTo(
      -(5.068e-7 + 1.81e-5 / 8) * 8760,
      12,
    );
  });

  it('trades pairs whose books match the venues: equity, fees, slippage and funding', async () => {
    const run = backtest();
    const result = await runBacktest(run.options);
    const strategy = run.strategy();
    const finished = strategy.finished();
    const closed = finished.filter((pair) => pair.status === 'CLOSED');
    expect(closed.length).toBeGreaterThan(0);

    // Everything the pairs booked (finished, and still open at the end at the last marks).
    const open = strategy.pairs().map((pair) => pair);
    expect(open.every((pair) => pair.status === 'OPEN' || pair.status === 'CLOSING')).toBe(true);
    let net = 0;
    let fees = 0;
    let slippage = 0;
    let funding = 0;
    for (const pair of finished) {
      net += pair.result.pnl.netPnl;
      fees += pair.result.pnl.fees;
      slippage += pair.result.pnl.slippage;
      funding += pair.result.pnl.fundingCollected;
    }
    expect(open).toHaveLength(result.openPositions.length / 2);
    const { summary } = result;
    // With the books flat at the end, the pairs' net PnL is the venues' equity change.
    if (open.length === 0) expect(net).toBeCloseTo(summary.finalEquity - summary.startingEquity, 6);
    expect(fees).toBeCloseTo(summary.fees, 6);
    expect(slippage).toBeCloseTo(summary.slippage, 6);
    expect(funding).toBeCloseTo(summary.fundingPnl, 6);
    // And the engine's per-leg trades agree with the pairs' legs.
    const legTrades = result.trades.reduce((sum, trade) => sum + trade.netPnl, 0);
    if (open.length === 0) expect(net).toBeCloseTo(legTrades, 6);

    for (const pair of closed) {
      const code = pair.exit?.code as keyof typeof EXIT_CODES;
      expect(EXIT_CODES[code].layer).toBe(pair.exit?.layer);
      // Entry and close never left a leg alone for longer than the maker timeout.
      expect(pair.result.maxUnhedgedMs).toBeLessThanOrEqual(3_600_000);
      expect(pair.result.corrections).toEqual([]);
      expect(pair.result.pnl.totalPnl).toBeCloseTo(
        pair.result.pnl.pricePnl + pair.result.pnl.fundingCollected + pair.result.pnl.fundingAccrued,
        9,
      );
    }
    // Every leg's round trip carries the reason its pair exited.
    const exitCodes = new Set(closed.map((pair) => pair.exit?.code));
    for (const trade of result.trades) expect(exitCodes.has(trade.exitReasons[0])).toBe(true);
  });

  it('is deterministic: the same data gives the same trades', async () => {
    const first = await runBacktest(backtest().options);
    const second = await runBacktest(backtest().options);
    expect(second.summary.tradeListHash).toBe(first.summary.tradeListHash);
    expect(second.summary.finalEquity).toBe(first.summary.finalEquity);
  });
});
