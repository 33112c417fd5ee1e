import {
  defineExitRule,
  duration,
  type ExitDecision,
  type ExitRule,
  type LedgerPosition,
  type SetupContext,
  type StateView,
  z,
} from '@perpkit/core';
import { type FeatureHub, featureHub, type IndicatorView } from '@perpkit/features';

/*
 * Price exits are checked once per cycle on the reference price (the mark; in backtests the bar's
 * close) and close the position with a market order: a stop here is a decision, not a resting stop
 * order, so a gap can fill it beyond its level.
 */

const scope = {
  /** Only positions opened by these strategy ids (default: every position, adopted ones too). */
  strategies: z.array(z.string().min(1)).min(1).optional(),
  /** Only these symbols (default: all). */
  symbols: z.array(z.string().min(1)).min(1).optional(),
  /** 1 emergency, 2 economic, 3 optional: where the rule sits in the exit stack. */
  layer: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  /** Order within the layer; lower runs first. */
  priority: z.number().int().optional(),
};

interface ScopeOptions {
  readonly strategies?: readonly string[] | undefined;
  readonly symbols?: readonly string[] | undefined;
}

function inScope(position: LedgerPosition, options: ScopeOptions): boolean {
  if (options.strategies && !options.strategies.includes(position.strategyId ?? '')) return false;
  if (options.symbols && !options.symbols.includes(position.symbol)) return false;
  return true;
}

const formatPrice = (price: number) => Number(price.toPrecision(10)).toString();
const formatPercent = (fraction: number) => `${Number((fraction * 100).toPrecision(6))}%`;

/** +1 long, −1 short. */
const direction = (position: LedgerPosition) => (position.quantity > 0 ? 1 : -1);

function priceExit(
  position: LedgerPosition,
  state: StateView,
  level: number,
  kind: 'stop' | 'target',
  code: string,
  describe: string,
): ExitDecision | null {
  const price = state.referencePrice(position.exchange, position.symbol);
  if (price === undefined || position.quantity === 0) return null;
  const side = direction(position);
  // A stop fires when the price is at or beyond the level against the position, a target in favour.
  const beyond = kind === 'stop' ? side * (price - level) <= 0 : side * (price - level) >= 0;
  if (!beyond) return null;
  const verb = kind === 'stop' ? 'stop' : 'target';
  return {
    action: 'close',
    code,
    message: `${position.quantity > 0 ? 'long' : 'short'} ${position.symbol}: price ${formatPrice(price)} reached the ${verb} ${formatPrice(level)} (${describe}, entry ${formatPrice(position.entryPrice)})`,
  };
}

export const stopLossOptions = z
  .object({
    /** Largest adverse move from the entry price, as a fraction (0.02: 2 %). */
    fraction: z.number().gt(0).lt(1),
    ...scope,
  })
  .strict();

/** Closes a position whose price moved `fraction` against it from the entry. Code `STOP_LOSS`. */
export const stopLoss = defineExitRule({
  meta: {
    name: 'stop-loss',
    kind: 'exit-rule',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Close at a fixed fraction against the entry price',
  },
  options: stopLossOptions,
  setup(context, options): ExitRule {
    return {
      name: context.id,
      layer: options.layer ?? 2,
      priority: options.priority ?? 10,
      evaluate(position, state) {
        if (!inScope(position, options)) return null;
        const level = position.entryPrice * (1 - direction(position) * options.fraction);
        return priceExit(
          position,
          state,
          level,
          'stop',
          'STOP_LOSS',
          `${formatPercent(options.fraction)} stop`,
        );
      },
    };
  },
});

export const takeProfitOptions = z
  .object({
    /** Favourable move from the entry price that takes the profit, as a fraction (0.03: 3 %). */
    fraction: z.number().gt(0),
    ...scope,
  })
  .strict();

/** Closes a position whose price moved `fraction` in its favour from the entry. Code `TAKE_PROFIT`. */
export const takeProfit = defineExitRule({
  meta: {
    name: 'take-profit',
    kind: 'exit-rule',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Close at a fixed fraction in favour of the entry price',
  },
  options: takeProfitOptions,
  setup(context, options): ExitRule {
    return {
      name: context.id,
      layer: options.layer ?? 2,
      priority: options.priority ?? 20,
      evaluate(position, state) {
        if (!inScope(position, options)) return null;
        const level = position.entryPrice * (1 + direction(position) * options.fraction);
        return priceExit(
          position,
          state,
          level,
          'target',
          'TAKE_PROFIT',
          `${formatPercent(options.fraction)} target`,
        );
      },
    };
  },
});

export const timeStopOptions = z
  .object({
    /** How long a position may be held (`12h`, `90m`, ms). */
    after: duration,
    ...scope,
  })
  .strict();

/** Closes a position held for `after` or longer (engine clock). Code `TIME_STOP`. */
export const timeStop = defineExitRule({
  meta: {
    name: 'time-stop',
    kind: 'exit-rule',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Close a position held for too long',
  },
  options: timeStopOptions,
  setup(context, options): ExitRule {
    return {
      name: context.id,
      layer: options.layer ?? 3,
      priority: options.priority ?? 30,
      evaluate(position, state) {
        if (!inScope(position, options)) return null;
        const held = state.now - position.openedAt;
        if (held < options.after) return null;
        return {
          action: 'close',
          code: 'TIME_STOP',
          message: `${position.symbol} held ${Math.round(held / 60_000)} min, limit ${Math.round(options.after / 60_000)} min`,
        };
      },
    };
  },
});

const atrOptions = {
  /** Distance from the entry in ATRs. */
  multiple: z.number().gt(0),
  /** Bars in the ATR (Wilder); shared with any strategy reading the same ATR. */
  period: z.number().int().min(1).max(10_000).default(14),
  ...scope,
};

/**
 * The ATR each position is measured with: the ATR when the rule first sees the position, kept in
 * plugin memory so a restart measures with the same ATR; forgotten when the position closes.
 */
class AtrAnchors {
  private readonly extremes = new Map<string, number>();
  private readonly views = new Map<string, IndicatorView<number>>();

  constructor(private readonly context: SetupContext) {
    context.events.on('position', (position) => {
      if (position.quantity !== 0) return;
      const prefix = `${position.exchange}|${position.symbol}|${position.account}|`;
      for (const key of this.extremes.keys()) if (key.startsWith(prefix)) this.extremes.delete(key);
      const remembered = context.memory.get<Record<string, number>>('anchors') ?? {};
      const kept = Object.fromEntries(Object.entries(remembered).filter(([key]) => !key.startsWith(prefix)));
      if (Object.keys(kept).length !== Object.keys(remembered).length) context.memory.set('anchors', kept);
    });
  }

  /** The shared ATR of the position's instrument, as of this cycle. */
  currentAtr(
    hub: FeatureHub,
    position: LedgerPosition,
    period: number,
    state: StateView,
  ): number | undefined {
    const instrument = `${position.exchange}|${position.symbol}`;
    let view = this.views.get(instrument);
    if (!view) {
      view = hub.averageTrueRange(position.exchange, position.symbol, period);
      this.views.set(instrument, view);
    }
    return view.read(state);
  }

  private key(position: LedgerPosition): string {
    return `${position.exchange}|${position.symbol}|${position.account}|${position.openedAt}`;
  }

  /** The position's ATR, taken from `current` the first time. */
  atr(position: LedgerPosition, current: number | undefined): number | undefined {
    const key = this.key(position);
    const remembered = this.context.memory.get<Record<string, number>>('anchors') ?? {};
    const anchored = remembered[key];
    if (anchored !== undefined) return anchored;
    if (current === undefined || !(current > 0)) return undefined;
    this.context.memory.set('anchors', { ...remembered, [key]: current });
    return current;
  }

  /** The best price in the position's favour since the rule first saw it (kept in process only). */
  extreme(position: LedgerPosition, price: number): number {
    const key = this.key(position);
    const side = direction(position);
    const previous = this.extremes.get(key) ?? position.entryPrice;
    const best = side > 0 ? Math.max(previous, price) : Math.min(previous, price);
    this.extremes.set(key, best);
    return best;
  }
}

export const atrStopOptions = z
  .object({
    ...atrOptions,
    /** Trail the stop behind the best price since entry (a chandelier stop) instead of the entry. */
    trailing: z.boolean().default(false),
  })
  .strict();

/**
 * Closes a position `multiple` ATRs against its entry (or, trailing, against the best price since
 * entry). Codes `ATR_STOP` and `ATR_TRAILING_STOP`.
 */
export const atrStop = defineExitRule({
  meta: {
    name: 'atr-stop',
    kind: 'exit-rule',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Stop at a multiple of the ATR from the entry, or trailing the best price',
  },
  options: atrStopOptions,
  setup(context, options): ExitRule {
    const hub = featureHub(context);
    const anchors = new AtrAnchors(context);
    return {
      name: context.id,
      layer: options.layer ?? 2,
      priority: options.priority ?? 11,
      evaluate(position, state) {
        if (!inScope(position, options)) return null;
        const atr = anchors.atr(position, anchors.currentAtr(hub, position, options.period, state));
        const price = state.referencePrice(position.exchange, position.symbol);
        if (atr === undefined || price === undefined) return null;
        const side = direction(position);
        const from = options.trailing ? anchors.extreme(position, price) : position.entryPrice;
        const level = from - side * options.multiple * atr;
        return priceExit(
          position,
          state,
          level,
          'stop',
          options.trailing ? 'ATR_TRAILING_STOP' : 'ATR_STOP',
          `${options.multiple} × ATR ${formatPrice(atr)} ${options.trailing ? `behind the best price ${formatPrice(from)}` : 'from entry'}`,
        );
      },
    };
  },
});

export const atrTakeProfitOptions = z.object(atrOptions).strict();

/** Closes a position `multiple` ATRs in its favour from the entry. Code `ATR_TAKE_PROFIT`. */
export const atrTakeProfit = defineExitRule({
  meta: {
    name: 'atr-take-profit',
    kind: 'exit-rule',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Take profit at a multiple of the ATR from the entry',
  },
  options: atrTakeProfitOptions,
  setup(context, options): ExitRule {
    const hub = featureHub(context);
    const anchors = new AtrAnchors(context);
    return {
      name: context.id,
      layer: options.layer ?? 2,
      priority: options.priority ?? 21,
      evaluate(position, state) {
        if (!inScope(position, options)) return null;
        const atr = anchors.atr(position, anchors.currentAtr(hub, position, options.period, state));
        if (atr === undefined) return null;
        const level = position.entryPrice + direction(position) * options.multiple * atr;
        return priceExit(
          position,
          state,
          level,
          'target',
          'ATR_TAKE_PROFIT',
          `${options.multiple} × ATR ${formatPrice(atr)} from entry`,
        );
      },
    };
  },
});

/** Every rule of the package; the runner registers them all from `plugins: [basic]`. */
export const plugins = [stopLoss, takeProfit, timeStop, atrStop, atrTakeProfit];

export default plugins;
