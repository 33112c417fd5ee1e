import { reason, type Side, type SignalReason, z } from '@perpkit/core';
import type { FeatureSnapshot } from '@perpkit/features';

const band = z
  .object({
    /** At or above this, the crowd is long: fade it with a short. */
    above: z.number().optional(),
    /** At or below this, the crowd is short: fade it with a long. */
    below: z.number().optional(),
  })
  .strict()
  .refine((value) => value.above !== undefined || value.below !== undefined, {
    message: 'give above, below or both',
  })
  .refine((value) => value.above === undefined || value.below === undefined || value.below < value.above, {
    message: 'below must be less than above',
  });

/** What counts as an extreme. At least one of `funding` and `premium`. */
export const fadeTriggersSchema = z
  .object({
    /** Funding rate per hour (0.0000125 = 0.01 % per 8 h). */
    funding: band.optional(),
    /** Premium of mark over index, in percent. */
    premium: band.optional(),
    /** `any`: one extreme is enough; `all`: every configured trigger must be extreme, on the same side. */
    require: z.enum(['any', 'all']).default('any'),
  })
  .strict()
  .refine((value) => value.funding !== undefined || value.premium !== undefined, {
    message: 'configure funding, premium or both',
  });

/** Market-quality filters an entry must pass. */
export const fadeFiltersSchema = z
  .object({
    /** Quoted spread at most `max` basis points. */
    spreadBps: z.object({ max: z.number().positive() }).strict().optional(),
    /**
     * Volume z-score of the bar within [`min`, `max`]: `max` keeps out of volume blow-outs (a
     * squeeze in progress is no time to fade), `min` asks for some participation.
     */
    volumeZ: z
      .object({ min: z.number().optional(), max: z.number().optional() })
      .strict()
      .refine((value) => value.min !== undefined || value.max !== undefined, {
        message: 'give min, max or both',
      })
      .optional(),
  })
  .strict();

export type FadeTriggers = z.infer<typeof fadeTriggersSchema>;
export type FadeFilters = z.infer<typeof fadeFiltersSchema>;

export interface FadeRules {
  readonly triggers: FadeTriggers;
  readonly filters: FadeFilters;
  /**
   * A configured spread filter without quotes blocks (`block`) or is skipped (`skip`); the volume
   * filter always blocks while its baseline warms up.
   */
  readonly missingData: 'block' | 'skip';
}

export interface FadeDecision {
  /** The fading side when triggered, filtered through and unopposed; else undefined. */
  readonly side: Side | undefined;
  /** The reasons: the decision first, then each trigger, then each filter. */
  readonly reasons: readonly SignalReason[];
}

interface TriggerReading {
  readonly name: 'funding' | 'premium';
  /** The fading side when extreme; undefined when within the band or missing. */
  readonly side: Side | undefined;
  readonly reason: SignalReason;
  readonly missing: boolean;
}

const short = (value: number) => Number(value.toPrecision(4)).toString();

function readTrigger(
  name: 'funding' | 'premium',
  value: number | undefined,
  limits: { above?: number | undefined; below?: number | undefined },
): TriggerReading {
  const label = name === 'funding' ? 'funding' : 'premium';
  const code = name === 'funding' ? 'FADE_FUNDING' : 'FADE_PREMIUM';
  const show = (number: number) =>
    name === 'funding' ? `${number.toExponential(3)}/h` : `${short(number)}%`;
  if (value === undefined)
    return {
      name,
      side: undefined,
      missing: true,
      reason: reason(
        `${code}_MISSING`,
        `${label} unavailable (${name === 'funding' ? 'no funding rate' : 'no fresh index price'})`,
      ),
    };
  if (limits.above !== undefined && value >= limits.above)
    return {
      name,
      side: 'sell',
      missing: false,
      reason: reason(
        `${code}_HIGH`,
        `${label} ${show(value)} ≥ ${show(limits.above)}: longs crowded, fade with a short`,
      ),
    };
  if (limits.below !== undefined && value <= limits.below)
    return {
      name,
      side: 'buy',
      missing: false,
      reason: reason(
        `${code}_LOW`,
        `${label} ${show(value)} ≤ ${show(limits.below)}: shorts crowded, fade with a long`,
      ),
    };
  const range = `(${limits.below === undefined ? '−∞' : show(limits.below)}, ${limits.above === undefined ? '∞' : show(limits.above)})`;
  return {
    name,
    side: undefined,
    missing: false,
    reason: reason(`${code}_NORMAL`, `${label} ${show(value)} within ${range}: no extreme`),
  };
}

/**
 * Decides a fade from one feature snapshot. Pure. Each configured trigger reads its extreme
 * (funding per hour, premium in percent) and names the fading side; with `require: any` one
 * extreme is enough, with `all` every configured trigger must be extreme; triggers pointing to
 * opposite sides cancel. The filters (spread, volume z-score) must then pass.
 */
export function evaluateFade(snapshot: FeatureSnapshot, rules: FadeRules): FadeDecision {
  const { triggers, filters } = rules;
  const readings: TriggerReading[] = [];
  if (triggers.funding) readings.push(readTrigger('funding', snapshot.fundingRate, triggers.funding));
  if (triggers.premium) readings.push(readTrigger('premium', snapshot.premiumPct, triggers.premium));
  const extreme = readings.filter((reading) => reading.side !== undefined);
  const sides = new Set(extreme.map((reading) => reading.side));

  const filterReasons: SignalReason[] = [];
  const blockedBy: string[] = [];
  const skippedOrBlocked = (code: string, label: string, what: string) => {
    if (rules.missingData === 'skip')
      filterReasons.push(reason(`${code}_SKIPPED`, `${label} unavailable (${what}): skipped`));
    else {
      filterReasons.push(reason(`${code}_MISSING`, `${label} unavailable (${what}): blocks`));
      blockedBy.push(label);
    }
  };
  if (filters.spreadBps) {
    const { max } = filters.spreadBps;
    const spread = snapshot.spreadBps;
    if (spread === undefined) skippedOrBlocked('FADE_SPREAD', 'spread', 'no fresh bid and ask');
    else if (spread <= max) filterReasons.push(reason('FADE_SPREAD', `spread ${short(spread)} bps ≤ ${max}`));
    else {
      filterReasons.push(reason('FADE_SPREAD_FAIL', `spread ${short(spread)} bps > ${max}`));
      blockedBy.push('spread');
    }
  }
  if (filters.volumeZ) {
    const { min, max } = filters.volumeZ;
    const volumeZ = snapshot.volumeZ;
    const range = `[${min ?? '−∞'}, ${max ?? '∞'}]`;
    if (volumeZ === undefined) {
      // The volume baseline warming up is no missing data source: it blocks whatever `missingData` says.
      filterReasons.push(
        reason(
          'FADE_VOLUME_Z_MISSING',
          'volume z-score unavailable (baseline warming up or constant): blocks',
        ),
      );
      blockedBy.push('volume z-score');
    } else if ((min === undefined || volumeZ >= min) && (max === undefined || volumeZ <= max))
      filterReasons.push(reason('FADE_VOLUME_Z', `volume z-score ${volumeZ.toFixed(2)} within ${range}`));
    else {
      filterReasons.push(
        reason('FADE_VOLUME_Z_FAIL', `volume z-score ${volumeZ.toFixed(2)} outside ${range}`),
      );
      blockedBy.push('volume z-score');
    }
  }

  const triggerReasons = readings.map((reading) => reading.reason);
  const enough =
    triggers.require === 'all'
      ? extreme.length === readings.length && readings.length > 0
      : extreme.length > 0;
  let side: Side | undefined;
  let decision: SignalReason;
  if (sides.size > 1)
    decision = reason('FADE_CONFLICT', 'funding and premium point to opposite sides: no fade');
  else if (!enough)
    decision = reason(
      'FADE_NO_EXTREME',
      triggers.require === 'all' && extreme.length > 0
        ? `not every trigger is extreme (${extreme.length} of ${readings.length}): no fade`
        : 'no extreme: nothing to fade',
    );
  else if (blockedBy.length > 0)
    decision = reason('FADE_FILTERED', `fade blocked by ${blockedBy.join(', ')}`);
  else {
    side = extreme[0]?.side;
    decision = reason(
      side === 'sell' ? 'FADE_SHORT' : 'FADE_LONG',
      `fade ${extreme.map((reading) => reading.name).join(' and ')} with a ${side === 'sell' ? 'short' : 'long'}`,
    );
  }
  // reasons[0] names what was faded (the first extreme), so backtest breakdowns group by it.
  const lead = side !== undefined ? (extreme[0] as TriggerReading).reason : decision;
  const rest =
    side !== undefined ? [decision, ...triggerReasons.filter((entry) => entry !== lead)] : triggerReasons;
  return { side, reasons: [lead, ...rest, ...filterReasons] };
}
