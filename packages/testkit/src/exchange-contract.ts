import {
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type Fill,
  type Market,
  type Order,
  roundPrice,
  roundQuantity,
  type Ticker,
} from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { waitFor } from './harness';

/** What a package gives the exchange contract suite: a fresh, connected-or-not exchange per case. */
export interface ExchangeContractHarness {
  readonly exchange: Exchange;
  /** A symbol the cases may trade. */
  readonly symbol: string;
  /** Account to trade on. Default: the exchange's first account. */
  readonly account?: string;
  /**
   * Moves the venue's price (a simulator control). Cases that need a moving market skip without it.
   */
  setPrice?(price: number): Promise<void> | void;
  /** Called after each case, even a failed one. */
  teardown?(): Promise<void> | void;
}

export interface ExchangeContractCase {
  /** Stable id. Cases are never deleted or renumbered; retired cases stay and skip. */
  readonly id: string;
  readonly title: string;
  /** The case skips when this answers false. */
  readonly requires?: (capabilities: ExchangeCapabilities, harness: ExchangeContractHarness) => boolean;
  run(context: CaseContext): Promise<void>;
}

interface CaseContext {
  readonly harness: ExchangeContractHarness;
  readonly exchange: Exchange;
  readonly symbol: string;
  readonly account: string;
  readonly market: Market;
  readonly ticker: Ticker;
  /** A valid small order size: above min quantity and min notional, a multiple of the lot. */
  readonly quantity: string;
}

const EXACT_POSITIVE = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

async function expectCode(promise: Promise<unknown>, codes: readonly string[]): Promise<ExchangeError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected an ExchangeError with code ${codes.join(' or ')}`).toBeInstanceOf(ExchangeError);
  expect(codes).toContain((caught as ExchangeError).code);
  return caught as ExchangeError;
}

function collect<T>(
  exchange: Exchange,
  event: 'fill' | 'order' | 'ticker',
): { items: T[]; stop: () => void } {
  const items: T[] = [];
  const listener = (item: T) => items.push(item);
  exchange.events.on(event, listener as never);
  return { items, stop: () => exchange.events.off(event, listener as never) };
}

async function waitForFinal(
  exchange: Exchange,
  account: string,
  orderId: string,
  seen: Order[],
): Promise<Order> {
  let final: Order | undefined;
  await waitFor(
    async () => {
      final = seen.filter((order) => order.id === orderId).at(-1);
      if (final && ['filled', 'cancelled', 'rejected', 'expired'].includes(final.status)) return true;
      final = await exchange.fetchOrder(account, orderId);
      return final !== undefined && ['filled', 'cancelled', 'rejected', 'expired'].includes(final.status);
    },
    10_000,
    `order ${orderId} to reach a final status`,
  );
  return final as Order;
}

async function positionOf(exchange: Exchange, account: string, symbol: string): Promise<number> {
  const positions = await exchange.fetchPositions(account);
  return positions.find((position) => position.symbol === symbol)?.quantity ?? 0;
}

/** The exchange contract, case by case. */
export const EXCHANGE_CONTRACT_CASES: readonly ExchangeContractCase[] = [
  {
    id: 'EX-001',
    title: 'fetchMarkets returns markets with exact tick and lot sizes and venue facts',
    async run({ exchange, symbol }) {
      const markets = await exchange.fetchMarkets();
      expect(markets.length).toBeGreaterThan(0);
      expect(markets.map((market) => market.symbol)).toContain(symbol);
      for (const market of markets) {
        expect(market.exchange).toBe(exchange.id);
        expect(market.tickSize).toMatch(EXACT_POSITIVE);
        expect(market.lotSize).toMatch(EXACT_POSITIVE);
        expect(Number(market.tickSize)).toBeGreaterThan(0);
        expect(Number(market.lotSize)).toBeGreaterThan(0);
        expect(market.maxLeverage).toBeGreaterThan(0);
        expect(market.fundingIntervalHours).toBeGreaterThan(0);
        expect(market.minNotional).toBeGreaterThanOrEqual(0);
      }
    },
  },
  {
    id: 'EX-002',
    title: 'fetchTicker returns a positive mark for the instrument',
    async run({ exchange, symbol, ticker }) {
      expect(ticker.exchange).toBe(exchange.id);
      expect(ticker.symbol).toBe(symbol);
      expect(Number.isFinite(ticker.mark) && ticker.mark > 0).toBe(true);
      expect(Number.isFinite(ticker.timestamp)).toBe(true);
    },
  },
  {
    id: 'EX-003',
    title: 'fetchOrderBook returns sorted, uncrossed levels',
    async run({ exchange, symbol }) {
      const book = await exchange.fetchOrderBook(symbol);
      expect(book.symbol).toBe(symbol);
      for (let index = 1; index < book.bids.length; index += 1) {
        expect((book.bids[index] as readonly number[])[0]).toBeLessThan(
          (book.bids[index - 1] as readonly number[])[0] as number,
        );
      }
      for (let index = 1; index < book.asks.length; index += 1) {
        expect((book.asks[index] as readonly number[])[0]).toBeGreaterThan(
          (book.asks[index - 1] as readonly number[])[0] as number,
        );
      }
      for (const [price, quantity] of [...book.bids, ...book.asks]) {
        expect(price).toBeGreaterThan(0);
        expect(quantity).toBeGreaterThan(0);
      }
      if (book.bids[0] && book.asks[0]) expect(book.bids[0][0]).toBeLessThan(book.asks[0][0]);
    },
  },
  {
    id: 'EX-004',
    title: "fetchFundingRate normalizes once: ratePerHour × the venue's interval = rate",
    async run({ exchange, symbol, market }) {
      const rate = await exchange.fetchFundingRate(symbol);
      expect(rate.intervalHours).toBe(market.fundingIntervalHours);
      expect(rate.ratePerHour * rate.intervalHours).toBeCloseTo(rate.rate, 15);
    },
  },
  {
    id: 'EX-005',
    title: 'an unknown symbol is MARKET_NOT_FOUND',
    async run({ exchange }) {
      await expectCode(exchange.fetchTicker('NO-SUCH-MARKET-XYZ'), ['MARKET_NOT_FOUND']);
    },
  },
  {
    id: 'EX-006',
    title: 'fetchAccount returns a consistent snapshot for each account',
    async run({ exchange }) {
      expect(exchange.accounts().length).toBeGreaterThan(0);
      for (const account of exchange.accounts()) {
        const snapshot = await exchange.fetchAccount(account);
        expect(snapshot.exchange).toBe(exchange.id);
        expect(snapshot.account).toBe(account);
        expect(Number.isFinite(snapshot.equity)).toBe(true);
        expect(snapshot.healthRatio).toBeGreaterThanOrEqual(0);
        expect(snapshot.healthRatio).toBeLessThanOrEqual(1);
        expect(snapshot.freeCollateral).toBeLessThanOrEqual(snapshot.equity + 1e-9);
      }
    },
  },
  {
    id: 'EX-007',
    title: 'an unknown account is ACCOUNT_NOT_FOUND',
    async run({ exchange }) {
      await expectCode(exchange.fetchAccount('no-such-account-xyz'), ['ACCOUNT_NOT_FOUND']);
    },
  },
  {
    id: 'EX-008',
    title: 'a market buy fills and opens a position of the filled size',
    requires: (capabilities) => capabilities.orderTypes.includes('market'),
    async run({ exchange, symbol, account, quantity }) {
      const orders = collect<Order>(exchange, 'order');
      const before = await positionOf(exchange, account, symbol);
      const order = await exchange.submitOrder({ account, symbol, side: 'buy', type: 'market', quantity });
      const final = await waitForFinal(exchange, account, order.id, orders.items);
      orders.stop();
      expect(final.status).toBe('filled');
      expect(final.filledQuantity).toBeCloseTo(Number(quantity), 12);
      expect(final.averagePrice).toBeGreaterThan(0);
      await waitFor(
        async () =>
          Math.abs((await positionOf(exchange, account, symbol)) - before - Number(quantity)) < 1e-9,
        10_000,
        'position',
      );
    },
  },
  {
    id: 'EX-009',
    title: 'fill reports carry consistent cumulative fields (quantity, fee, VWAP)',
    requires: (capabilities) => capabilities.orderTypes.includes('market') && capabilities.streams.account,
    async run({ exchange, symbol, account, quantity }) {
      const fills = collect<Fill>(exchange, 'fill');
      const orders = collect<Order>(exchange, 'order');
      const order = await exchange.submitOrder({ account, symbol, side: 'buy', type: 'market', quantity });
      const final = await waitForFinal(exchange, account, order.id, orders.items);
      await waitFor(
        () =>
          fills.items.some(
            (fill) => fill.orderId === order.id && fill.cumulativeQuantity >= final.filledQuantity - 1e-12,
          ),
        10_000,
        'fills',
      );
      fills.stop();
      orders.stop();
      const mine = fills.items.filter((fill) => fill.orderId === order.id);
      let quantitySum = 0;
      let feeSum = 0;
      let notional = 0;
      for (const fill of mine) {
        quantitySum += fill.quantity;
        feeSum += fill.fee;
        notional += fill.quantity * fill.price;
        expect(fill.cumulativeQuantity).toBeCloseTo(quantitySum, 12);
        expect(fill.cumulativeFee).toBeCloseTo(feeSum, 12);
        expect(fill.averagePrice).toBeCloseTo(notional / quantitySum, 9);
      }
      expect(quantitySum).toBeCloseTo(final.filledQuantity, 12);
      expect(final.fee).toBeCloseTo(feeSum, 12);
    },
  },
  {
    id: 'EX-010',
    title: 'a limit order away from the market rests, is listed, and cancels',
    requires: (capabilities) => capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const price = roundPrice(ticker.mark * 0.8, market.tickSize, 'buy');
      const order = await exchange.submitOrder({
        account,
        symbol,
        side: 'buy',
        type: 'limit',
        price,
        quantity,
        timeInForce: 'gtc',
      });
      expect(['open', 'pending']).toContain(order.status);
      await waitFor(
        async () => (await exchange.fetchOpenOrders(account, symbol)).some((open) => open.id === order.id),
        10_000,
        'open order',
      );
      const cancelled = await exchange.cancelOrder({ account, symbol, orderId: order.id });
      expect(cancelled.status).toBe('cancelled');
      await waitFor(
        async () => !(await exchange.fetchOpenOrders(account, symbol)).some((open) => open.id === order.id),
        10_000,
        'order gone',
      );
    },
  },
  {
    id: 'EX-011',
    title: 'cancelAllOrders cancels every resting order and counts them',
    requires: (capabilities) => capabilities.cancelAll && capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      for (const factor of [0.8, 0.75]) {
        const price = roundPrice(ticker.mark * factor, market.tickSize, 'buy');
        await exchange.submitOrder({ account, symbol, side: 'buy', type: 'limit', price, quantity });
      }
      await waitFor(
        async () => (await exchange.fetchOpenOrders(account, symbol)).length >= 2,
        10_000,
        'two open orders',
      );
      const count = await exchange.cancelAllOrders({ account, symbol });
      expect(count).toBeGreaterThanOrEqual(2);
      await waitFor(
        async () => (await exchange.fetchOpenOrders(account, symbol)).length === 0,
        10_000,
        'no open orders',
      );
    },
  },
  {
    id: 'EX-012',
    title: 'a price off the tick is rejected',
    requires: (capabilities) => capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const aligned = Number(roundPrice(ticker.mark * 0.8, market.tickSize, 'buy'));
      const off = String(aligned + Number(market.tickSize) / 3);
      await expectCode(
        exchange.submitOrder({ account, symbol, side: 'buy', type: 'limit', price: off, quantity }),
        ['ORDER_REJECTED'],
      );
    },
  },
  {
    id: 'EX-013',
    title: 'a quantity off the lot is rejected',
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const off = String(Number(quantity) + Number(market.lotSize) / 3);
      const price = roundPrice(ticker.mark * 0.8, market.tickSize, 'buy');
      const type = exchange.capabilities.orderTypes.includes('limit') ? 'limit' : 'market';
      await expectCode(
        exchange.submitOrder({
          account,
          symbol,
          side: 'buy',
          type,
          quantity: off,
          ...(type === 'limit' ? { price } : {}),
        }),
        ['ORDER_REJECTED'],
      );
    },
  },
  {
    id: 'EX-014',
    title: 'a client order id in use is rejected',
    requires: (capabilities) => capabilities.clientOrderId && capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const price = roundPrice(ticker.mark * 0.8, market.tickSize, 'buy');
      const clientOrderId = `contract-${Date.now().toString(36)}`;
      await exchange.submitOrder({
        account,
        symbol,
        side: 'buy',
        type: 'limit',
        price,
        quantity,
        clientOrderId,
      });
      await expectCode(
        exchange.submitOrder({ account, symbol, side: 'buy', type: 'limit', price, quantity, clientOrderId }),
        ['ORDER_REJECTED'],
      );
    },
  },
  {
    id: 'EX-015',
    title: 'reduce-only never increases exposure: rejected when flat',
    requires: (capabilities) => capabilities.reduceOnly && capabilities.orderTypes.includes('market'),
    async run({ exchange, symbol, account, quantity }) {
      expect(await positionOf(exchange, account, symbol)).toBe(0);
      let rejected = false;
      try {
        const order = await exchange.submitOrder({
          account,
          symbol,
          side: 'sell',
          type: 'market',
          quantity,
          reduceOnly: true,
        });
        // Some venues accept and cancel instead of rejecting; either way nothing may fill.
        rejected = order.filledQuantity === 0 && order.status !== 'filled';
      } catch (error) {
        expect(error).toBeInstanceOf(ExchangeError);
        rejected = true;
      }
      expect(rejected).toBe(true);
      expect(await positionOf(exchange, account, symbol)).toBe(0);
    },
  },
  {
    id: 'EX-016',
    title: 'post-only that would cross is rejected and takes nothing',
    requires: (capabilities) =>
      capabilities.timeInForce.includes('post-only') && capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const price = roundPrice(ticker.mark * 1.05, market.tickSize, 'sell');
      await expectCode(
        exchange.submitOrder({
          account,
          symbol,
          side: 'buy',
          type: 'limit',
          price,
          quantity,
          timeInForce: 'post-only',
        }),
        ['ORDER_REJECTED'],
      );
      expect(await positionOf(exchange, account, symbol)).toBe(0);
    },
  },
  {
    id: 'EX-017',
    title: 'cancelling an unknown order is ORDER_NOT_FOUND',
    async run({ exchange, symbol, account }) {
      await expectCode(exchange.cancelOrder({ account, symbol, orderId: '987654321' }), ['ORDER_NOT_FOUND']);
    },
  },
  {
    id: 'EX-018',
    title: 'a reduce-only market order closes the position exactly',
    requires: (capabilities) => capabilities.reduceOnly && capabilities.orderTypes.includes('market'),
    async run({ exchange, symbol, account, quantity }) {
      const orders = collect<Order>(exchange, 'order');
      const open = await exchange.submitOrder({ account, symbol, side: 'buy', type: 'market', quantity });
      await waitForFinal(exchange, account, open.id, orders.items);
      await waitFor(async () => (await positionOf(exchange, account, symbol)) > 0, 10_000, 'position');
      const size = await positionOf(exchange, account, symbol);
      const close = await exchange.submitOrder({
        account,
        symbol,
        side: 'sell',
        type: 'market',
        quantity: String(size),
        reduceOnly: true,
      });
      const final = await waitForFinal(exchange, account, close.id, orders.items);
      orders.stop();
      expect(final.status).toBe('filled');
      await waitFor(async () => (await positionOf(exchange, account, symbol)) === 0, 10_000, 'flat');
    },
  },
  {
    id: 'EX-019',
    title: 'every accepted order is reported through order events under its id',
    requires: (capabilities) => capabilities.streams.account && capabilities.orderTypes.includes('limit'),
    async run({ exchange, symbol, account, market, ticker, quantity }) {
      const orders = collect<Order>(exchange, 'order');
      const price = roundPrice(ticker.mark * 0.8, market.tickSize, 'buy');
      const order = await exchange.submitOrder({
        account,
        symbol,
        side: 'buy',
        type: 'limit',
        price,
        quantity,
      });
      await waitFor(() => orders.items.some((item) => item.id === order.id), 10_000, 'order event');
      await exchange.cancelOrder({ account, symbol, orderId: order.id });
      await waitFor(
        () => orders.items.some((item) => item.id === order.id && item.status === 'cancelled'),
        10_000,
        'cancel event',
      );
      orders.stop();
    },
  },
  {
    id: 'EX-020',
    title: 'a ticker subscription streams price changes',
    requires: (capabilities, harness) => capabilities.streams.ticker && harness.setPrice !== undefined,
    async run({ exchange, symbol, harness, ticker }) {
      const tickers = collect<Ticker>(exchange, 'ticker');
      await exchange.subscribe({ channel: 'ticker', symbol });
      const target = ticker.mark * 1.01;
      await harness.setPrice?.(target);
      await waitFor(
        () =>
          tickers.items.some(
            (item) => item.symbol === symbol && Math.abs(item.mark - target) / target < 0.005,
          ),
        10_000,
        'ticker',
      );
      tickers.stop();
    },
  },
  {
    id: 'EX-021',
    title: 'close() is idempotent',
    async run({ exchange }) {
      await exchange.close();
      await exchange.close();
    },
  },
];

/** A valid small order size for the market at the given price. */
export function contractQuantity(market: Market, price: number): string {
  const lot = Number(market.lotSize);
  const minimum = Math.max(lot, Number(market.minQuantity ?? 0), (market.minNotional * 1.5) / price);
  return roundQuantity(minimum, market.lotSize, 'ceil');
}

/**
 * Runs the exchange contract against an adapter. `createHarness` is called once per case and must
 * return an isolated venue (a fresh simulator, fresh accounts).
 */
/**
 * Which cases run and which skip for an exchange's declared capabilities (and the harness's
 * controls): a case never fails for a capability the exchange does not claim.
 */
export function contractCasesFor(
  capabilities: ExchangeCapabilities,
  harness: ExchangeContractHarness,
): { readonly run: readonly string[]; readonly skip: readonly string[] } {
  const run: string[] = [];
  const skip: string[] = [];
  for (const contractCase of EXCHANGE_CONTRACT_CASES)
    (contractCase.requires && !contractCase.requires(capabilities, harness) ? skip : run).push(
      contractCase.id,
    );
  return { run, skip };
}

export function describeExchangeContract(
  name: string,
  createHarness: () => Promise<ExchangeContractHarness> | ExchangeContractHarness,
  options: { timeoutMs?: number } = {},
): void {
  describe(`exchange contract: ${name}`, () => {
    for (const contractCase of EXCHANGE_CONTRACT_CASES) {
      it(
        `${contractCase.id} ${contractCase.title}`,
        async (context) => {
          const harness = await createHarness();
          try {
            const { exchange, symbol } = harness;
            if (contractCase.requires && !contractCase.requires(exchange.capabilities, harness)) {
              context.skip();
              return;
            }
            await exchange.connect();
            const account = harness.account ?? exchange.accounts()[0];
            if (account === undefined) throw new Error('the exchange has no account');
            const market = (await exchange.fetchMarkets()).find((candidate) => candidate.symbol === symbol);
            if (!market) throw new Error(`the harness symbol ${symbol} is not a market of ${exchange.id}`);
            const ticker = await exchange.fetchTicker(symbol);
            await contractCase.run({
              harness,
              exchange,
              symbol,
              account,
              market,
              ticker,
              quantity: contractQuantity(market, ticker.mark),
            });
          } finally {
            await harness.teardown?.();
            await harness.exchange.close();
          }
        },
        options.timeoutMs ?? 30_000,
      );
    }
  });
}
