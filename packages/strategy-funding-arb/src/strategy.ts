import {
  type AccountSnapshot,
  defineStrategy,
  describeError,
  type ExitDecision,
  type ExitLayer,
  evaluateExitStack,
  type HealthStatus,
  type Signal,
  type SignalInput,
  type StateView,
  type Strategy,
  type StrategyInstrument,
} from '@perpkit/core';
import { legPosition, PairBook, type PairSignalMetadata } from './book';
import { evaluateEntry, type LegMarket, legCosts } from './economics';
import { type Alternative, buildExitStack, type LegView, type PairSubject } from './exits';
import { annualize, HOURS_PER_YEAR, hourlyRate, pairSpreadPerHour } from './funding';
import { OrientedHistory, SpreadHistory } from './history';
import { fundingArbOptions } from './options';
import type { EntryEstimate, ExitRecord, LegRef, PairPnl, PairState, PairSummary } from './types';

const HOUR_MS = 3_600_000;
const SPREADS_KEY = 'spreads';

interface Venue {
  readonly asset: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly account: string | undefined;
}

/** Two venues of one asset; samples are kept long the first, short the second. */
interface Combo {
  readonly key: string;
  readonly asset: string;
  readonly first: Venue;
  readonly second: Venue;
  readonly history: SpreadHistory;
}

/** One orientation of a combo: which venue is long. */
interface Orientation {
  readonly combo: Combo;
  readonly long: Venue;
  readonly short: Venue;
  readonly view: OrientedHistory;
}

export interface ExitEvaluationRecord {
  readonly pairId: string;
  readonly rule: string;
  readonly layer: ExitLayer;
  readonly decision: ExitDecision;
}

/** The strategy instance, with read access to its pairs and an operator's close. */
export interface FundingArbStrategy extends Strategy {
  /** Pairs not finished yet (OPENING, OPEN, CLOSING). */
  pairs(): readonly PairState[];
  /** Pairs finished in this process, oldest first. */
  finished(): readonly PairSummary[];
  /** Pairs finished, as kept in plugin memory (the newest `historyLimit`, across restarts). */
  history(): readonly PairSummary[];
  /** A live pair's money now (open legs at the mark, funding collected and accrued apart). */
  pairPnl(pairId: string): PairPnl | undefined;
  /** Closes an open pair with reason `MANUAL_CLOSE` at the next cycle; false when it is not open. */
  requestClose(pairId: string, message?: string): boolean;
  /** What the exit stack decides for every open pair now, without acting on it. */
  evaluateExits(state: StateView): readonly ExitEvaluationRecord[];
  /** Hourly net APY samples (newest last) of holding long `longExchange` and short `shortExchange`. */
  spreadSamples(asset: string, longExchange: string, shortExchange: string): readonly number[];
}

function venueKey(venue: Venue): string {
  return `${venue.exchange}:${venue.symbol}`;
}

export default defineStrategy({
  meta: {
    name: 'funding-arb',
    kind: 'strategy',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Cross-venue funding-rate arbitrage with layered exit rules',
  },
  options: fundingArbOptions,
  setup(context, options): FundingArbStrategy {
    const { logger, memory } = context;
    const stack = buildExitStack(options.exits);
    const capacity = Math.max(
      168,
      options.entry.lookbackHours,
      options.exits.zScore?.window ?? 0,
      options.exits.velocity?.hours ?? 0,
      options.exits.fundingFlip.confirmHours,
    );
    const minSamples = options.entry.minSamples ?? options.entry.lookbackHours;

    const savedSpreads =
      memory.get<Record<string, { lastHour: number; values: number[] }>>(SPREADS_KEY) ?? {};
    const combos: Combo[] = [];
    const combosByAsset = new Map<string, Combo[]>();
    for (const market of options.markets) {
      const venues: Venue[] = market.venues.map((venue) => ({
        asset: market.asset,
        exchange: venue.exchange,
        symbol: venue.symbol,
        account: venue.account,
      }));
      const list: Combo[] = [];
      for (let first = 0; first < venues.length; first += 1) {
        for (let second = first + 1; second < venues.length; second += 1) {
          const a = venues[first] as Venue;
          const b = venues[second] as Venue;
          const key = `${market.asset}|${venueKey(a)}|${venueKey(b)}`;
          const saved = savedSpreads[key];
          const history = saved ? SpreadHistory.fromJSON(capacity, saved) : new SpreadHistory(capacity);
          const combo: Combo = { key, asset: market.asset, first: a, second: b, history };
          list.push(combo);
          combos.push(combo);
        }
      }
      combosByAsset.set(market.asset, list);
    }

    const book = new PairBook({ id: context.id, state: context.state, logger, memory, options });
    book.resetTransient();

    // ------------------------------------------------------------ engine events
    const mine = (signal: Signal): PairSignalMetadata | undefined => {
      if (signal.strategyId !== context.id) return undefined;
      const meta = signal.metadata as Partial<PairSignalMetadata> | undefined;
      return typeof meta?.pairId === 'string' ? (meta as PairSignalMetadata) : undefined;
    };
    context.events.on('order:submitted', (event) => {
      const meta = mine(event.proposal.signal);
      if (meta) book.onSubmitted(meta, event.order);
    });
    context.events.on('order:failed', (event) => {
      const meta = mine(event.proposal.signal);
      if (meta)
        book.onRefused(
          meta,
          event.reason === undefined ? event.code : `${event.code}:${event.reason}`,
          event.message,
        );
    });
    context.events.on('order:denied', (event) => {
      const meta = mine(event.signal);
      if (meta) book.onRefused(meta, event.code, event.message);
    });
    context.events.on('order:dry-run', (event) => {
      const meta = mine(event.proposal.signal);
      if (meta) book.onRefused(meta, 'DRY_RUN', 'dry run: nothing was sent');
    });
    context.events.on('fill', (fill) => book.onFill(fill));
    context.events.on('order:update', (order) => book.onOrder(order));
    context.events.on('funding', (payment) => book.onFunding(payment));

    // ------------------------------------------------------------ funding rates
    /** Venues whose rates failed the normalization checks, with why: never traded on. */
    const rateProblems = new Map<string, string>();
    const ratePerHour = (state: StateView, venue: Venue): number | undefined => {
      const rate = state.fundingRate(venue.exchange, venue.symbol);
      if (!rate) return undefined;
      try {
        const value = hourlyRate(rate, state.market(venue.exchange, venue.symbol));
        if (rateProblems.delete(venueKey(venue)))
          logger.info('funding rate usable again', { venue: venueKey(venue) });
        return value;
      } catch (error) {
        const message = describeError(error).message;
        if (!rateProblems.has(venueKey(venue)))
          logger.error('funding rate refused', { venue: venueKey(venue), message });
        rateProblems.set(venueKey(venue), message);
        return undefined;
      }
    };

    /** One hourly sample per combo: the net APY of long first / short second at the latest rates. */
    const sample = (state: StateView) => {
      const hour = Math.floor(state.now / HOUR_MS);
      let changed = false;
      for (const combo of combos) {
        if (combo.history.lastHour >= hour) continue;
        const first = ratePerHour(state, combo.first);
        const second = ratePerHour(state, combo.second);
        if (first === undefined || second === undefined) continue;
        combo.history.push(annualize(pairSpreadPerHour(first, second)), hour);
        changed = true;
      }
      if (changed) {
        const saved: Record<string, { lastHour: number; values: number[] }> = {};
        for (const combo of combos) if (combo.history.count > 0) saved[combo.key] = combo.history.toJSON();
        memory.set(SPREADS_KEY, saved);
      }
    };

    const orientationsByAsset = new Map<string, Orientation[]>();
    for (const [asset, list] of combosByAsset) {
      const out: Orientation[] = [];
      for (const combo of list) {
        out.push({
          combo,
          long: combo.first,
          short: combo.second,
          view: new OrientedHistory(combo.history, 1),
        });
        out.push({
          combo,
          long: combo.second,
          short: combo.first,
          view: new OrientedHistory(combo.history, -1),
        });
      }
      orientationsByAsset.set(asset, out);
    }
    const orientations = (asset: string): readonly Orientation[] => orientationsByAsset.get(asset) ?? [];

    const orientationOf = (pair: PairState): Orientation | undefined => {
      for (const candidate of orientations(pair.asset))
        if (
          candidate.long.exchange === pair.long.ref.exchange &&
          candidate.long.symbol === pair.long.ref.symbol &&
          candidate.short.exchange === pair.short.ref.exchange &&
          candidate.short.symbol === pair.short.ref.symbol
        )
          return candidate;
      return undefined;
    };

    const refOf = (state: StateView, venue: Venue): LegRef | undefined => {
      const account = venue.account ?? state.defaultAccount(venue.exchange);
      return account === undefined ? undefined : { exchange: venue.exchange, symbol: venue.symbol, account };
    };

    const legMarkets = (
      state: StateView,
      long: LegRef,
      short: LegRef,
    ): { long: LegMarket; short: LegMarket } | undefined => {
      const longMarket = state.market(long.exchange, long.symbol);
      const shortMarket = state.market(short.exchange, short.symbol);
      if (!longMarket || !shortMarket) return undefined;
      return { long: { ref: long, market: longMarket }, short: { ref: short, market: shortMarket } };
    };

    /** Expected net funding per hour per unit notional of an orientation, NaN without enough samples. */
    const forecast = (orientation: Orientation, needed: number): number =>
      orientation.view.count >= needed
        ? orientation.view.mean(options.entry.lookbackHours) / HOURS_PER_YEAR
        : Number.NaN;

    // ------------------------------------------------------------ exits
    const buildSubject = (
      state: StateView,
      pair: PairState,
      accounts: Map<string, AccountSnapshot | undefined>,
    ): PairSubject => {
      const account = (ref: LegRef) => {
        const key = `${ref.exchange}\u0000${ref.account}`;
        if (!accounts.has(key)) accounts.set(key, state.account(ref.exchange, ref.account));
        return accounts.get(key);
      };
      const leg = (ref: LegRef): LegView => {
        const position = state.position(ref.exchange, ref.symbol, ref.account);
        const snapshot = account(ref);
        let venuePosition: AccountSnapshot['positions'][number] | undefined;
        if (snapshot)
          for (const entry of snapshot.positions) if (entry.symbol === ref.symbol) venuePosition = entry;
        return {
          ref,
          quantity: position?.quantity ?? 0,
          mark: state.referencePrice(ref.exchange, ref.symbol) ?? position?.markPrice ?? 0,
          liquidationPrice: venuePosition?.liquidationPrice ?? position?.liquidationPrice,
          healthRatio: snapshot?.healthRatio,
        };
      };
      const long = leg(pair.long.ref);
      const short = leg(pair.short.ref);
      const held = orientationOf(pair);
      const forecastPerHour = held ? forecast(held, 1) : Number.NaN;
      const markets = legMarkets(state, pair.long.ref, pair.short.ref);
      const exitCost = markets
        ? (() => {
            const costs = legCosts(state, markets, pair.quantity, ['exit'], options.entry);
            return costs.fees + costs.slippage;
          })()
        : 0;
      let alternative: Alternative | undefined;
      if (options.exits.opportunityCost.enabled) {
        for (const candidate of orientations(pair.asset)) {
          if (candidate === held) continue;
          const perHour = forecast(candidate, minSamples);
          if (!(perHour > (alternative?.forecastPerHour ?? Number.NEGATIVE_INFINITY))) continue;
          const longRef = refOf(state, candidate.long);
          const shortRef = refOf(state, candidate.short);
          const candidateMarkets = longRef && shortRef ? legMarkets(state, longRef, shortRef) : undefined;
          if (!longRef || !shortRef || !candidateMarkets) continue;
          const entry = legCosts(state, candidateMarkets, pair.quantity, ['entry'], options.entry);
          alternative = {
            long: longRef,
            short: shortRef,
            forecastPerHour: perHour,
            switchCost: exitCost + entry.fees + entry.slippage,
          };
        }
      }
      return {
        pair,
        long,
        short,
        notional: pair.quantity * ((long.mark + short.mark) / 2),
        history: held?.view,
        forecastPerHour,
        alternative,
        pnl: book.pnl(pair, account),
        exitCost,
      };
    };

    const evaluateExits = (state: StateView): ExitEvaluationRecord[] => {
      const out: ExitEvaluationRecord[] = [];
      const accounts = new Map<string, AccountSnapshot | undefined>();
      for (const pair of book.livePairs()) {
        if (pair.status !== 'OPEN' || book.busy(pair)) continue;
        const subject = buildSubject(state, pair, accounts);
        const evaluation = evaluateExitStack(stack, subject, state, {
          heldMs: state.now - (pair.openedAt ?? state.now),
          minHoldMs: options.exits.minHold,
        });
        if (evaluation)
          out.push({
            pairId: pair.id,
            rule: evaluation.rule.name,
            layer: evaluation.rule.layer,
            decision: evaluation.decision,
          });
      }
      return out;
    };

    // ------------------------------------------------------------ entries
    const enter = (state: StateView): SignalInput[] => {
      let room = options.maxOpenPairs - book.livePairs().length;
      if (room <= 0) return [];
      const best: { asset: string; long: LegRef; short: LegRef; estimate: EntryEstimate }[] = [];
      for (const market of options.markets) {
        if (book.hasAsset(market.asset) || book.coolingDown(market.asset, state.now)) continue;
        let chosen: (typeof best)[number] | undefined;
        for (const orientation of orientations(market.asset)) {
          const perHour = forecast(orientation, minSamples);
          if (!(perHour > 0)) continue;
          const long = refOf(state, orientation.long);
          const short = refOf(state, orientation.short);
          if (!long || !short) continue;
          if (rateProblems.has(venueKey(orientation.long)) || rateProblems.has(venueKey(orientation.short)))
            continue;
          // A leg that already holds a position (or has orders working) is not ours to pair.
          if (legPosition(state, long) !== 0 || legPosition(state, short) !== 0) continue;
          if (
            state.hasPendingOrder(long.exchange, long.symbol, long.account) ||
            state.hasPendingOrder(short.exchange, short.symbol, short.account)
          )
            continue;
          const markets = legMarkets(state, long, short);
          if (!markets) continue;
          const evaluation = evaluateEntry(state, markets, perHour, options.entry);
          if (!evaluation.ok) continue;
          const bps = evaluation.estimate.netEv / evaluation.estimate.notional;
          if (!chosen || bps > chosen.estimate.netEv / chosen.estimate.notional)
            chosen = { asset: market.asset, long, short, estimate: evaluation.estimate };
        }
        if (chosen) best.push(chosen);
      }
      best.sort((a, b) => b.estimate.netEv / b.estimate.notional - a.estimate.netEv / a.estimate.notional);
      const out: SignalInput[] = [];
      for (const candidate of best) {
        if (room <= 0) break;
        out.push(...book.open(candidate.asset, candidate.long, candidate.short, candidate.estimate));
        room -= 1;
      }
      return out;
    };

    // ------------------------------------------------------------ the cycle
    let lastNow: number | undefined;
    let cycleGap = 0;
    const queued: SignalInput[] = [];

    const act = (state: StateView, pair: PairState, record: ExitEvaluationRecord): SignalInput[] => {
      const { decision, layer } = record;
      // A halted phase lets only emergencies out; an economic exit waits for the operator.
      if (layer > 1 && state.phase === 'halted') return [];
      const exit: Omit<ExitRecord, 'at'> = {
        code: decision.code,
        layer,
        rule: record.rule,
        message: decision.message,
        urgency: decision.urgency ?? (layer === 1 ? 'emergency' : 'normal'),
      };
      if (decision.action === 'close') return book.requestClose(pair.id, exit);
      const long = legPosition(state, pair.long.ref);
      const short = legPosition(state, pair.short.ref);
      const held = Math.min(Math.abs(long), Math.abs(short));
      let target = decision.targetQuantity ?? held;
      if (decision.action === 'reduce') {
        const cut = decision.quantity ?? (decision.fraction ?? 0) * held;
        target = Math.max(0, held - cut);
      }
      return book.rebalance(pair, Math.abs(target), exit);
    };

    const strategy: FundingArbStrategy = {
      instruments: options.markets.flatMap((market) =>
        market.venues.map(
          (venue): StrategyInstrument => ({
            exchange: venue.exchange,
            symbol: venue.symbol,
            channels: ['ticker', 'fundingRate', 'orderBook'],
          }),
        ),
      ),

      onCycle(state) {
        if (lastNow !== undefined && state.now > lastNow) cycleGap = state.now - lastNow;
        lastNow = state.now;
        book.claimExternal();
        sample(state);
        const out: SignalInput[] = queued.splice(0);
        for (const pair of book.livePairs()) {
          if (pair.status === 'OPENING') out.push(...book.stepEntry(pair, cycleGap));
          else if (pair.status === 'CLOSING') out.push(...book.stepClose(pair, cycleGap));
        }
        for (const record of evaluateExits(state)) {
          const pair = book.get(record.pairId);
          if (pair) out.push(...act(state, pair, record));
        }
        if (state.phase === 'active') out.push(...enter(state));
        return out.length > 0 ? out : undefined;
      },

      health(): HealthStatus {
        if (rateProblems.size === 0) return { ok: true };
        return { ok: false, message: [...rateProblems.values()].join('; ') };
      },

      pairs: () => book.livePairs(),
      pairPnl(pairId) {
        const pair = book.get(pairId);
        return pair ? book.pnl(pair) : undefined;
      },
      finished: () => book.finishedAll,
      history: () => book.closed(),
      evaluateExits,
      requestClose(pairId, message = 'closed by the operator') {
        const pair = book.get(pairId);
        if (pair?.status !== 'OPEN') return false;
        queued.push(
          ...book.requestClose(pairId, {
            code: 'MANUAL_CLOSE',
            layer: 0,
            rule: 'operator',
            message,
            urgency: 'high',
          }),
        );
        return true;
      },
      spreadSamples(asset, longExchange, shortExchange) {
        for (const orientation of orientations(asset)) {
          if (orientation.long.exchange !== longExchange || orientation.short.exchange !== shortExchange)
            continue;
          const values: number[] = [];
          for (let ago = orientation.view.count - 1; ago >= 0; ago -= 1)
            values.push(orientation.view.get(ago));
          return values;
        }
        return [];
      },
    };
    return strategy;
  },
});
