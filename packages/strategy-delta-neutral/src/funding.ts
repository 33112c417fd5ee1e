import {
  type Market,
  reason,
  roundToStepNumber,
  type SetupContext,
  type SignalInput,
  type StateView,
  type Strategy,
} from '@perpkit/core';
import { type LegExposure, netDelta, planRebalance } from './delta';
import type { FundingOptions } from './options';

/** What survives a restart (plugin memory key `funding`): the cooldown's start above all. */
interface FundingMemory {
  lastRebalanceAt: number | undefined;
  nextEvaluationAt: number;
}

interface LegState {
  readonly exchange: string;
  readonly symbol: string;
  readonly account: string;
  readonly market: Market;
  readonly quantity: number;
  readonly price: number;
  readonly weight: number;
}

/**
 * The funding shape: a short perp that collects funding, hedged by longs in other accounts or on
 * other venues. When flat (and funding pays enough) it opens the short and its hedges as one group.
 * While held, net delta is the sum of every leg's signed notional and drift = net / gross; past
 * the threshold it trades the short leg: net long → EXPAND_SHORT, net short → REDUCE_SHORT, unless
 * the cooldown since the last rebalance has not passed or the trade is dust. When the short's
 * funding falls below the exit rate, every leg closes together.
 */
export function createFundingStrategy(context: SetupContext, options: FundingOptions): Strategy {
  const saved = context.memory.get('funding') as Partial<FundingMemory> | undefined;
  const memory: FundingMemory = {
    lastRebalanceAt: saved?.lastRebalanceAt,
    nextEvaluationAt: saved?.nextEvaluationAt ?? 0,
  };
  const remember = () => context.memory.set('funding', { ...memory });
  let lastNote = '';
  const note = (code: string, message: string): undefined => {
    if (code === lastNote) return undefined;
    lastNote = code;
    context.logger.debug(`delta-neutral: ${code}`, { message });
    context.record('skip', { code, message });
    return undefined;
  };
  const specs = [
    { ...options.short, weight: 0 },
    ...options.hedges.map((hedge) => ({ ...hedge, weight: hedge.weight })),
  ];
  const totalWeight = options.hedges.reduce((sum, hedge) => sum + hedge.weight, 0);

  return {
    instruments: specs.map((spec) => ({
      exchange: spec.exchange,
      symbol: spec.symbol,
      channels: ['ticker', 'fundingRate'] as const,
    })),
    onCycle(state: StateView): readonly SignalInput[] | undefined {
      const now = state.now;
      if (now < memory.nextEvaluationAt) return undefined;
      const legs: LegState[] = [];
      for (const spec of specs) {
        const market = state.market(spec.exchange, spec.symbol);
        if (!market) return note('NO_MARKET', `${spec.exchange} has no market ${spec.symbol}`);
        const account = spec.account ?? state.defaultAccount(spec.exchange);
        if (account === undefined) return note('NO_ACCOUNT', `${spec.exchange} has no account`);
        if (state.hasPendingOrder(spec.exchange, spec.symbol, account)) return undefined;
        const price = state.referencePrice(spec.exchange, spec.symbol);
        if (price === undefined || !(price > 0))
          return note('NO_PRICE', `no reference price for ${spec.exchange}:${spec.symbol}`);
        const quantity = state.position(spec.exchange, spec.symbol, account)?.quantity ?? 0;
        legs.push({
          exchange: spec.exchange,
          symbol: spec.symbol,
          account,
          market,
          quantity,
          price,
          weight: spec.weight,
        });
      }
      memory.nextEvaluationAt = now + options.interval;
      remember();
      const short = legs[0] as LegState;
      const flat = legs.every((leg) => Math.abs(leg.quantity) < Number(leg.market.lotSize) / 2);
      const rate = state.fundingRate(short.exchange, short.symbol)?.ratePerHour;
      const exposures: LegExposure[] = legs.map((leg) => ({ quantity: leg.quantity, price: leg.price }));
      const features = {
        netDelta: netDelta(exposures),
        shortPosition: short.quantity,
        ...(rate === undefined ? {} : { fundingRatePerHour: rate }),
      };
      const groupId = `${context.id}-${state.cycle}`;

      if (
        !flat &&
        options.exitFundingRatePerHour !== undefined &&
        rate !== undefined &&
        rate < options.exitFundingRatePerHour
      ) {
        lastNote = '';
        const message = `short leg funding ${rate} per hour is below the exit rate ${options.exitFundingRatePerHour}`;
        return legs
          .filter((leg) => leg.quantity !== 0)
          .map((leg) => ({
            intent: 'close' as const,
            exchange: leg.exchange,
            symbol: leg.symbol,
            account: leg.account,
            groupId,
            reasons: [reason('FUNDING_EXIT', message)],
            features,
            metadata: { shape: 'funding' },
          }));
      }

      if (flat) {
        if (
          options.minEntryFundingRatePerHour !== undefined &&
          (rate === undefined || rate < options.minEntryFundingRatePerHour)
        )
          return note(
            'FUNDING_TOO_LOW',
            `short leg funding ${rate ?? 'unknown'} per hour is below the entry rate ${options.minEntryFundingRatePerHour}`,
          );
        // One scale for every leg, so a leg's cap never unbalances the entry.
        let notional = options.size.notional ?? (options.size.quantity as number) * short.price;
        notional = Math.min(notional, orderCap(state, short));
        for (const leg of legs.slice(1))
          notional = Math.min(notional, (orderCap(state, leg) * totalWeight) / leg.weight);
        const quantities = legs.map((leg, index) =>
          roundToStepNumber(
            index === 0 ? notional / leg.price : (notional * leg.weight) / totalWeight / leg.price,
            leg.market.lotSize,
            'floor',
          ),
        );
        for (const [index, leg] of legs.entries()) {
          const quantity = quantities[index] as number;
          if (
            quantity <= 0 ||
            quantity < Number(leg.market.minQuantity ?? 0) ||
            quantity * leg.price < leg.market.minNotional
          )
            return note(
              'BELOW_MIN_ORDER',
              `${leg.exchange}:${leg.symbol} entry ${quantity} is below the venue minimum`,
            );
        }
        lastNote = '';
        const message = `open the funding short (${quantities[0]} ${short.symbol} on ${short.exchange}) with its hedges`;
        return legs.map((leg, index) => ({
          intent: 'open' as const,
          exchange: leg.exchange,
          symbol: leg.symbol,
          account: leg.account,
          side: index === 0 ? ('sell' as const) : ('buy' as const),
          quantity: quantities[index] as number,
          groupId,
          reasons: [reason(index === 0 ? 'FUNDING_SHORT_OPEN' : 'HEDGE_OPEN', message)],
          features,
          metadata: { shape: 'funding' },
        }));
      }

      const decision = planRebalance({
        legs: exposures,
        shortIndex: 0,
        now,
        lastRebalanceAt: memory.lastRebalanceAt,
        threshold: options.driftThreshold,
        cooldownMs: options.cooldown,
        minTradeSize: options.minTradeSize,
        lotSize: short.market.lotSize,
      });
      if (decision.action === 'none') {
        lastNote = '';
        return undefined;
      }
      if (decision.action === 'skip') {
        return note(
          decision.code,
          decision.code === 'COOLDOWN'
            ? `${decision.direction} of ${decision.quantity} waits ${decision.waitMs} ms for the cooldown`
            : `${decision.direction} of ${decision.quantity} is below the minimum trade size ${options.minTradeSize}`,
        );
      }
      const quantity = roundToStepNumber(
        Math.min(decision.quantity, orderCap(state, short) / short.price),
        short.market.lotSize,
        'floor',
      );
      if (quantity <= 0 || quantity < options.minTradeSize)
        return note(
          'CLAMPED_TO_ZERO',
          `${decision.direction} of ${decision.quantity} is clamped to ${quantity}`,
        );
      if (
        decision.direction === 'EXPAND_SHORT' &&
        (quantity * short.price < short.market.minNotional ||
          quantity < Number(short.market.minQuantity ?? 0))
      )
        return note('BELOW_MIN_ORDER', `EXPAND_SHORT of ${quantity} is below the venue minimum`);
      memory.lastRebalanceAt = now;
      remember();
      lastNote = '';
      const message = `drift ${(decision.drift * 100).toFixed(3)}% (net ${decision.net.toFixed(2)}) is past ${(options.driftThreshold * 100).toFixed(3)}%: ${decision.direction === 'EXPAND_SHORT' ? 'sell' : 'buy back'} ${quantity}`;
      const base = {
        exchange: short.exchange,
        symbol: short.symbol,
        account: short.account,
        quantity,
        reasons: [reason(decision.direction, message)],
        features: { ...features, drift: decision.drift },
        metadata: { shape: 'funding' },
      };
      return [
        decision.direction === 'EXPAND_SHORT'
          ? { ...base, intent: 'open', side: 'sell' }
          : { ...base, intent: 'reduce' },
      ];
    },
  };

  /** Largest order value for a leg's account: the max order value clamped by its live equity. */
  function orderCap(state: StateView, leg: { exchange: string; account: string }): number {
    const equity = state.account(leg.exchange, leg.account)?.equity ?? 0;
    return Math.min(options.maxOrderValue ?? Infinity, equity * options.maxOrderLeverage);
  }
}
