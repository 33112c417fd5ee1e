import type {
  AccountSnapshot,
  FundingRate,
  LedgerPosition,
  Market,
  OrderBook,
  StateView,
  TradingPhase,
} from '@perpkit/core';

/**
 * A hand-filled market state for pure functions (sizing, costs, subjects): the environment they
 * read, not the thing under test. Anything not given is absent.
 */
export interface StubInput {
  readonly now?: number;
  readonly phase?: TradingPhase;
  readonly markets?: readonly Partial<Market>[];
  readonly books?: Readonly<Record<string, Pick<OrderBook, 'bids' | 'asks'>>>;
  readonly prices?: Readonly<Record<string, number>>;
  readonly funding?: Readonly<Record<string, FundingRate>>;
  readonly accounts?: Readonly<Record<string, Partial<AccountSnapshot>>>;
  readonly positions?: readonly Partial<LedgerPosition>[];
}

export function market(exchange: string, fields: Partial<Market> = {}): Market {
  return {
    exchange,
    venue: exchange,
    symbol: 'BTC',
    base: 'BTC',
    quote: 'USD',
    tickSize: '0.1',
    lotSize: '0.001',
    minNotional: 0,
    maxLeverage: 20,
    fundingIntervalHours: 8,
    ...fields,
  };
}

export function stubState(input: StubInput = {}): StateView {
  const key = (exchange: string, symbol: string) => `${exchange}:${symbol}`;
  const markets = new Map(
    (input.markets ?? []).map((entry) => [
      key(entry.exchange ?? '', entry.symbol ?? 'BTC'),
      market(entry.exchange ?? '', entry),
    ]),
  );
  const positions = (input.positions ?? []).map(
    (entry) =>
      ({
        account: 'main',
        symbol: 'BTC',
        quantity: 0,
        entryPrice: 0,
        markPrice: 0,
        unrealizedPnl: 0,
        realizedPnl: 0,
        fees: 0,
        fundingSettled: 0,
        openedAt: 0,
        updatedAt: 0,
        entryReasons: [],
        ...entry,
      }) as LedgerPosition,
  );
  const state: Partial<StateView> = {
    mode: 'backtest',
    now: input.now ?? 0,
    cycle: 1,
    phase: input.phase ?? 'active',
    consecutiveFailures: 0,
    phaseHolds: () => [],
    latency: () => undefined,
    market: (exchange, symbol) => markets.get(key(exchange, symbol)),
    markets: () => [...markets.values()],
    ticker: () => undefined,
    orderBook: (exchange, symbol) => {
      const book = input.books?.[key(exchange, symbol)];
      return book ? { exchange, symbol, timestamp: input.now ?? 0, ...book } : undefined;
    },
    candles: () => undefined,
    fundingRate: (exchange, symbol) => input.funding?.[key(exchange, symbol)],
    referencePrice: (exchange, symbol) => input.prices?.[key(exchange, symbol)],
    lastUpdate: () => input.now ?? 0,
    account: (exchange, account) => {
      const snapshot = input.accounts?.[`${exchange}/${account}`];
      return snapshot ? ({ exchange, account, positions: [], ...snapshot } as AccountSnapshot) : undefined;
    },
    accounts: () => [],
    defaultAccount: () => 'main',
    position: (exchange, symbol, account) =>
      positions.find(
        (entry) =>
          entry.exchange === exchange &&
          entry.symbol === symbol &&
          (account === undefined || entry.account === account),
      ),
    positions: () => positions,
    openOrders: () => [],
    hasPendingOrder: () => false,
  };
  return state as StateView;
}
