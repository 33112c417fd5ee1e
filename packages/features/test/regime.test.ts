import type { Candle } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { decideRegime, type Regime, RegimeClassifier, regimePolicySchema } from '../src/index';
import { BINANCE_BTC_1H, readCandles } from './data';

const closeBar = (index: number, close: number): Candle => ({
  timestamp: index * 60_000,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});

/** Labels from the definition, recomputed from scratch at every bar. */
function referenceLabels(closes: readonly number[], period: number, threshold: number): Regime[] {
  return closes.map((close, index) => {
    if (index < period) return 'warmup';
    let path = 0;
    for (let back = index - period + 1; back <= index; back += 1)
      path += Math.abs((closes[back] as number) - (closes[back - 1] as number));
    const net = close - (closes[index - period] as number);
    const efficiency = path > 0 ? Math.abs(net) / path : 0;
    if (efficiency >= threshold) return net > 0 ? 'trend' : 'bear';
    return 'chop';
  });
}

function classify(closes: readonly number[], period: number, threshold: number): Regime[] {
  const classifier = new RegimeClassifier(period, threshold);
  return closes.map((close, index) => {
    const reading = classifier.preview(closeBar(index, close));
    classifier.commit(closeBar(index, close));
    return reading.regime;
  });
}

describe('RegimeClassifier', () => {
  it('labels a steady rise trend, a steady fall bear and a zigzag chop, after a warmup', () => {
    const rise = Array.from({ length: 8 }, (_, index) => 100 + index);
    expect(classify(rise, 4, 0.5)).toEqual([
      'warmup',
      'warmup',
      'warmup',
      'warmup',
      'trend',
      'trend',
      'trend',
      'trend',
    ]);
    const fall = rise.map((close) => 200 - close);
    expect(classify(fall, 4, 0.5).slice(4)).toEqual(['bear', 'bear', 'bear', 'bear']);
    const zigzag = [100, 102, 100, 102, 100, 102, 100, 102];
    expect(classify(zigzag, 4, 0.5).slice(4)).toEqual(['chop', 'chop', 'chop', 'chop']);
    expect(classify([100, 100, 100, 100], 3, 0.3)[3]).toBe('chop'); // no move at all
  });

  it('labels every bar of 19 months of Binance BTC 1h exactly as the definition', async () => {
    const closes = (await readCandles(BINANCE_BTC_1H)).map((candle) => candle.close);
    const labels = classify(closes, 24, 0.3);
    expect(labels).toEqual(referenceLabels(closes, 24, 0.3));
    const counts = Object.fromEntries(
      ['trend', 'chop', 'bear'].map((regime) => [regime, labels.filter((label) => label === regime).length]),
    );
    // Real data visits every regime.
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(500);
  });
});

describe('regime policy', () => {
  const policy = regimePolicySchema.parse({
    trend: { allow: ['momentum'] },
    chop: { allow: ['mean-reversion'], sizeMultiplier: 0.5 },
    bear: { allow: [] },
  });

  it('allows what a regime lists, at its size', () => {
    expect(decideRegime(policy, 'trend', 'momentum')).toMatchObject({ allowed: true, sizeMultiplier: 1 });
    const chop = decideRegime(policy, 'chop', 'mean-reversion');
    expect(chop).toMatchObject({ allowed: true, sizeMultiplier: 0.5 });
    expect(chop.reason).toEqual({
      code: 'REGIME_CHOP',
      message: 'regime chop allows mean-reversion at 0.5×',
    });
  });

  it('blocks a kind the regime does not list, an empty list and a regime it does not name', () => {
    expect(decideRegime(policy, 'chop', 'momentum')).toMatchObject({
      allowed: false,
      reason: { code: 'REGIME_CHOP', message: 'regime chop allows mean-reversion, not momentum' },
    });
    expect(decideRegime(policy, 'bear', 'mean-reversion')).toMatchObject({
      allowed: false,
      reason: { message: 'regime bear allows nothing, not mean-reversion' },
    });
    expect(decideRegime(policy, 'warmup', 'momentum')).toMatchObject({
      allowed: false,
      reason: { code: 'REGIME_WARMUP', message: 'regime warmup has no policy rule: nothing is allowed' },
    });
    const zero = regimePolicySchema.parse({ trend: { allow: ['momentum'], sizeMultiplier: 0 } });
    expect(decideRegime(zero, 'trend', 'momentum').allowed).toBe(false);
  });

  it('allows everything at 1× without a policy, and says so', () => {
    expect(decideRegime(undefined, 'bear', 'momentum')).toEqual({
      allowed: true,
      sizeMultiplier: 1,
      reason: { code: 'REGIME_BEAR', message: 'regime bear; no regime policy, momentum allowed at 1×' },
    });
  });

  it('is strict: an unknown regime or key is an error', () => {
    expect(regimePolicySchema.safeParse({ sideways: { allow: [] } }).success).toBe(false);
    expect(regimePolicySchema.safeParse({ chop: { allow: [], size: 0.5 } }).success).toBe(false);
    expect(regimePolicySchema.safeParse({ chop: { allow: [], sizeMultiplier: -1 } }).success).toBe(false);
  });
});
