import { createEngine, type OrderFailedEvent, parsePluginOptions, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { describe, expect, it } from 'vitest';
import deltaNeutral from '../src/index';
import { loadCandles, loadFunding } from './data';

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
