import {
  type ComponentSpec,
  Engine,
  type EngineCheckpoint,
  type Logger,
  type OrderRequest,
  type OrderSubmittedEvent,
  parsePluginOptions,
  type Signal,
  SimulatedClock,
  type Strategy,
} from '@perpkit/core';
import { FakeExchange } from '@perpkit/testkit';
import fundingArb, { type FundingArbOptionsInput, type FundingArbStrategy } from '../src/index';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/**
 * Two controllable venues (testkit `FakeExchange`): resting orders fill only when the test moves a
 * price through them or calls `fillOrder`; with `autoFill: false` IOC and market orders do not fill
 * by themselves either, so the close engine's every branch can be driven by hand.
 */
export function fakeVenues(autoFill: { alpha: boolean; beta: boolean }) {
  const common = { balance: 1_000_000, makerFeeRate: 0.0002, takerFeeRate: 0.0005, prices: { BTC: 100_000 } };
  const alpha = new FakeExchange({
    ...common,
    id: 'alpha',
    autoFill: autoFill.alpha,
    markets: [{ symbol: 'BTC', fundingIntervalHours: 8 }],
  });
  const beta = new FakeExchange({
    ...common,
    id: 'beta',
    autoFill: autoFill.beta,
    markets: [{ symbol: 'BTC', fundingIntervalHours: 1 }],
  });
  return { alpha, beta };
}

export const CLOSE_OPTIONS: FundingArbOptionsInput = {
  markets: [
    {
      asset: 'BTC',
      venues: [
        { exchange: 'alpha', symbol: 'BTC' },
        { exchange: 'beta', symbol: 'BTC' },
      ],
    },
  ],
  entry: { maxNotional: 10_000, lookbackHours: 1, feeAssumption: 'maker', fallbackSlippageBps: 1 },
  execution: { makerTimeout: '30m', makerOffsetBps: 1, maxIocAttempts: 2 },
  // Only the emergencies: economic exits would fire on their own in these scenarios.
  exits: { netEv: { enabled: false }, opportunityCost: { enabled: false }, fundingFlip: { enabled: false } },
};

export async function fakeHarness(
  venues: ReturnType<typeof fakeVenues>,
  options: FundingArbOptionsInput = CLOSE_OPTIONS,
  extra: { start?: number; logger?: Logger; restore?: EngineCheckpoint } = {},
) {
  const clock = new SimulatedClock(extra.start ?? Date.UTC(2026, 0, 5));
  const { alpha, beta } = venues;
  alpha.setTime(clock.now());
  beta.setTime(clock.now());
  const parsed = parsePluginOptions(fundingArb, options);
  let strategy: FundingArbStrategy | undefined;
  const spec: ComponentSpec<Strategy> = {
    id: 'arb',
    create: (context) => {
      strategy = fundingArb.setup(context, parsed) as FundingArbStrategy;
      return strategy;
    },
  };
  const engine = new Engine({
    mode: 'backtest',
    clock,
    exchanges: [alpha, beta],
    strategies: [spec],
    accountRefreshMs: 0,
    ...(extra.logger ? { logger: extra.logger } : {}),
    ...(extra.restore ? { restore: extra.restore } : {}),
  });
  const signals: Signal[] = [];
  engine.events.on('signal', (signal) => signals.push(signal));
  const submitted: OrderSubmittedEvent[] = [];
  engine.events.on('order:submitted', (event) => submitted.push(event));
  await engine.init();
  alpha.publishPrices();
  beta.publishPrices();
  /** The venue order ids the strategy placed, by exchange, in order. */
  const orders = (exchange: string) =>
    submitted.filter((event) => event.order.exchange === exchange).map((event) => event.order);
  const requests = (venue: FakeExchange): OrderRequest[] => venue.requests;
  return {
    clock,
    engine,
    alpha,
    beta,
    signals,
    submitted,
    orders,
    requests,
    get strategy(): FundingArbStrategy {
      return strategy as FundingArbStrategy;
    },
    async step(ms = MINUTE) {
      clock.advance(ms);
      alpha.setTime(clock.now());
      beta.setTime(clock.now());
      return engine.runCycle();
    },
  };
}

/** Funding that makes long alpha / short beta worth entering, then an open 0.1 BTC pair. */
export async function openPair(harness: Awaited<ReturnType<typeof fakeHarness>>) {
  const { alpha, beta } = harness;
  alpha.setFundingRate('BTC', 0.0001); // per 8h
  beta.setFundingRate('BTC', 0.0001); // per 1h
  await harness.step(HOUR);
  const [long, short] = [harness.orders('alpha')[0], harness.orders('beta')[0]];
  if (!long || !short) throw new Error('the entry makers were not placed');
  alpha.fillOrder(long.id, 0.1, long.price, 'maker');
  beta.fillOrder(short.id, 0.1, short.price, 'maker');
  await harness.step();
  const pair = harness.strategy.pairs()[0];
  if (pair?.status !== 'OPEN') throw new Error(`the pair did not open (${pair?.status})`);
  return pair;
}
