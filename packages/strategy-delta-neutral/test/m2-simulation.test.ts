import { createEngine, type OrderFailedEvent, parsePluginOptions, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { describe, expect, it } from 'vitest';
import deltaNeutral from '../src/index';
import { loadBinanceFunding, loadBinanceKlines, loadCandles, loadFunding, loadIsoCandles } from './data';

const HOUR = 3_600_000;

/**
 * The M2 success criteria on a real price path: Binance SOLUSDT 1h bars and the real 8-hourly
 * funding of the same weeks (silertrades/gravestone-data), two accounts on one simulated venue,
 * the real engine driving the paired shape one cycle per bar. After every cycle (market orders fill
 * at the mark as the cycle sends them):
 * - net delta within ±0.5% of the gross notional;
 * - zero unhedged positions: each account's position has the opposite, equal position in the other;
 * - no margin breach: no liquidation, no order refused for margin, equity above maintenance margin.
 */
describe('M2: paired accounts on a real price path', () => {
  it('keeps net delta within ±0.5%, never leaves a leg unhedged and never breaches margin over 1,000 cycles', async () => {
    const all = loadCandles('silertrades-gravestone-data/SOLUSDT-1h.csv', { dropLast: true });
    const funding = loadFunding('silertrades-gravestone-data/SOLUSDT-funding.csv');
    const start = funding[0]?.time as number;
    const bars = all.filter((candle) => candle.timestamp >= start).slice(0, 1000);
    expect(bars).toHaveLength(1000);

    const clock = new SimulatedClock(start);
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        fees: { maker: 0.00015, taker: 0.0004 },
        markets: [
          {
            symbol: 'SOL',
            tickSize: '0.01',
            lotSize: '0.01',
            minNotional: 10,
            maxLeverage: 10,
            fundingIntervalHours: 8,
          },
        ],
        accounts: [
          { id: 'primary', balance: 10_000 },
          { id: 'secondary', balance: 10_000 },
        ],
      },
      { id: 'sim', clock },
    );
    sim.setFundingSeries('SOL', funding);
    const options = parsePluginOptions(deltaNeutral, {
      mode: 'paired',
      exchange: 'sim',
      symbol: 'SOL',
      accounts: ['primary', 'secondary'],
      legNotional: 15_000,
      maxOrderValue: 20_000,
      maxOrderLeverage: 2,
      maxLeverage: 2,
      interval: '1h',
      holdTime: '6h',
      unwind: 'flip',
      book: { required: false },
    });
    const engine = createEngine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      strategies: [{ id: 'dn', create: (context) => deltaNeutral.setup(context, options) }],
      accountRefreshMs: 0,
      accountEventIntervalMs: 0,
    });
    const failures: OrderFailedEvent[] = [];
    let liquidations = 0;
    let fills = 0;
    const fundingSettled: Record<string, number> = { primary: 0, secondary: 0 };
    engine.events.on('order:failed', (event) => failures.push(event));
    engine.events.on('order:denied', (event) => failures.push(event as never));
    engine.events.on('liquidation', () => (liquidations += 1));
    engine.events.on('fill', () => (fills += 1));
    engine.events.on('funding', (payment) => {
      if (payment.settled)
        fundingSettled[payment.account] = (fundingSettled[payment.account] ?? 0) + payment.amount;
    });
    await engine.init();

    let maxNetPercent = 0;
    let cyclesWithPositions = 0;
    let unhedged = 0;
    let minHealth = 1;
    let maxLeverage = 0;
    let minMarginHeadroom = Number.POSITIVE_INFINITY;
    for (const bar of bars) {
      clock.advanceTo(bar.timestamp + HOUR);
      sim.processCandle('SOL', bar, HOUR);
      const report = await engine.runCycle();
      expect(report.ok).toBe(true);

      // The venue's own books, after the cycle's orders went out.
      const accounts = ['primary', 'secondary'].map((id) => sim.snapshotAccount(id));
      const [primary, secondary] = accounts.map((account) =>
        account?.positions.find((p) => p.symbol === 'SOL'),
      );
      const quantities = [primary?.quantity ?? 0, secondary?.quantity ?? 0] as const;
      // The engine's ledger agrees with the venue.
      expect(engine.state.position('sim', 'SOL', 'primary')?.quantity ?? 0).toBeCloseTo(quantities[0], 9);
      expect(engine.state.position('sim', 'SOL', 'secondary')?.quantity ?? 0).toBeCloseTo(quantities[1], 9);
      const gross = (Math.abs(quantities[0]) + Math.abs(quantities[1])) * bar.close;
      if (gross > 0) {
        cyclesWithPositions += 1;
        const net = (quantities[0] + quantities[1]) * bar.close;
        maxNetPercent = Math.max(maxNetPercent, (Math.abs(net) / gross) * 100);
      }
      const oneMissing = (quantities[0] === 0) !== (quantities[1] === 0);
      const sameSide = quantities[0] !== 0 && Math.sign(quantities[0]) === Math.sign(quantities[1]);
      if (oneMissing || sameSide) unhedged += 1;
      for (const account of accounts) {
        expect(account).toBeDefined();
        if (!account) continue;
        minHealth = Math.min(minHealth, account.healthRatio);
        maxLeverage = Math.max(maxLeverage, account.leverage);
        minMarginHeadroom = Math.min(minMarginHeadroom, account.equity - account.maintenanceMargin);
      }
    }
    await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 5000 });

    const summary = {
      cycles: bars.length,
      cyclesWithPositions,
      maxNetDeltaPercent: Number(maxNetPercent.toFixed(6)),
      unhedged,
      liquidations,
      refusedOrders: failures.length,
      minHealthRatio: Number(minHealth.toFixed(4)),
      maxAccountLeverage: Number(maxLeverage.toFixed(3)),
      minEquityAboveMaintenance: Number(minMarginHeadroom.toFixed(2)),
      fills,
      fundingSettled: {
        primary: Number(fundingSettled.primary?.toFixed(4)),
        secondary: Number(fundingSettled.secondary?.toFixed(4)),
      },
    };
    console.info('M2 paired simulation', JSON.stringify(summary));
    expect(cyclesWithPositions).toBeGreaterThanOrEqual(50);
    expect(maxNetPercent).toBeLessThanOrEqual(0.5);
    expect(unhedged).toBe(0);
    expect(liquidations).toBe(0);
    expect(failures).toEqual([]);
    expect(minMarginHeadroom).toBeGreaterThan(0);
    // The pair really traded: opened, flipped every 6 hours (in two clamped chunks), on both accounts.
    expect(fills).toBeGreaterThan(300);
  });
});

/**
 * The same criteria for the funding shape on two real price paths: a BTC short on one simulated
 * venue replaying Binance BTCUSDT 1h bars with Binance's 8-hourly funding, hedged by a long on a
 * second venue replaying Bybit BTCUSDT 5m bars aggregated to 1h. The legs see two different real
 * prices, so the drift is real basis; the threshold is the 0.5% itself.
 */
describe('M2: funding short with a cross-venue hedge on real price paths', () => {
  it('keeps net delta within ±0.5%, both legs open and no margin breach over the three months both venues share', async () => {
    const binance = loadBinanceKlines('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv');
    const bybit = new Map(
      loadIsoCandles('cobra0506-bybit-linear/BTCUSDT_5m.csv', HOUR).map((candle) => [
        candle.timestamp,
        candle,
      ]),
    );
    const start = Date.UTC(2025, 3, 3, 18); // the first whole hour of the Bybit file
    const steps = binance
      .filter((candle) => candle.timestamp >= start && bybit.has(candle.timestamp))
      .map((candle) => ({ drift: candle, hedge: bybit.get(candle.timestamp) as typeof candle }))
      .filter((step) => step.hedge.timestamp + HOUR <= Date.UTC(2025, 6, 2, 17));
    expect(steps.length).toBeGreaterThan(2000);

    const clock = new SimulatedClock(start);
    const venue = (id: string, account: string, fundingIntervalHours: number) =>
      new SimExchange(
        {
          fillModel: 'mark',
          fees: { maker: 0.0002, taker: 0.0005 },
          defaultFundingRatePerHour: 0,
          markets: [
            { symbol: 'BTC', tickSize: '0.1', lotSize: '0.0001', minNotional: 10, fundingIntervalHours },
          ],
          accounts: [{ id: account, balance: 100_000 }],
        },
        { id, clock },
      );
    const drift = venue('drift', 'collector', 8);
    const hedge = venue('hedge', 'main', 8);
    drift.setFundingSeries(
      'BTC',
      loadBinanceFunding('gg-cmk-binance-quant/BTCUSDT-funding.csv').filter((point) => point.time >= start),
    );
    const options = parsePluginOptions(deltaNeutral, {
      mode: 'funding',
      short: { exchange: 'drift', symbol: 'BTC', account: 'collector' },
      hedges: [{ exchange: 'hedge', symbol: 'BTC', account: 'main' }],
      size: { notional: 50_000 },
      driftThreshold: 0.005,
      cooldown: '30m',
      minTradeSize: 0.0001,
      interval: '1h',
    });
    const engine = createEngine({
      mode: 'backtest',
      clock,
      exchanges: [drift, hedge],
      strategies: [{ id: 'dn', create: (context) => deltaNeutral.setup(context, options) }],
      accountRefreshMs: 0,
      accountEventIntervalMs: 0,
    });
    const failures: unknown[] = [];
    let liquidations = 0;
    let collected = 0;
    const rebalances: string[] = [];
    engine.events.on('order:failed', (event) => failures.push(event));
    engine.events.on('order:denied', (event) => failures.push(event));
    engine.events.on('liquidation', () => (liquidations += 1));
    engine.events.on('funding', (payment) => {
      if (payment.settled && payment.exchange === 'drift') collected += payment.amount;
    });
    engine.events.on('signal', (signal) => {
      const code = signal.reasons[0]?.code ?? '';
      if (code === 'EXPAND_SHORT' || code === 'REDUCE_SHORT') rebalances.push(code);
    });
    await engine.init();

    let maxNetPercent = 0;
    let unhedged = 0;
    let minHeadroom = Number.POSITIVE_INFINITY;
    for (const step of steps) {
      clock.advanceTo(step.drift.timestamp + HOUR);
      drift.processCandle('BTC', step.drift, HOUR);
      hedge.processCandle('BTC', step.hedge, HOUR);
      expect((await engine.runCycle()).ok).toBe(true);
      const short = drift.snapshotAccount('collector');
      const long = hedge.snapshotAccount('main');
      const shortQuantity = short?.positions[0]?.quantity ?? 0;
      const longQuantity = long?.positions[0]?.quantity ?? 0;
      if (!(shortQuantity < 0 && longQuantity > 0)) unhedged += 1;
      const net = shortQuantity * step.drift.close + longQuantity * step.hedge.close;
      const gross = Math.abs(shortQuantity * step.drift.close) + Math.abs(longQuantity * step.hedge.close);
      if (gross > 0) maxNetPercent = Math.max(maxNetPercent, (Math.abs(net) / gross) * 100);
      for (const account of [short, long])
        minHeadroom = Math.min(minHeadroom, (account?.equity ?? 0) - (account?.maintenanceMargin ?? 0));
    }
    await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 5000 });

    console.info(
      'M2 funding simulation',
      JSON.stringify({
        cycles: steps.length,
        maxNetDeltaPercent: Number(maxNetPercent.toFixed(6)),
        unhedged,
        liquidations,
        refusedOrders: failures.length,
        rebalances: rebalances.length,
        fundingCollected: Number(collected.toFixed(2)),
        minEquityAboveMaintenance: Number(minHeadroom.toFixed(2)),
      }),
    );
    expect(maxNetPercent).toBeLessThanOrEqual(0.5);
    expect(unhedged).toBe(0);
    expect(liquidations).toBe(0);
    expect(failures).toEqual([]);
    expect(minHeadroom).toBeGreaterThan(0);
    // Binance paid shorts on balance over these months: the short collected funding.
    expect(collected).toBeGreaterThan(0);
  });
});
