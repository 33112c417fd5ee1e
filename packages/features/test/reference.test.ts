/*
 * The pipeline's values against an established library (trading-signals) on real market data:
 * every bar of Binance BTCUSDT 1h (19 months) and Bybit BTCUSDT 1m (30 days), within 1e-9 relative.
 */
import type { Candle } from '@perpkit/core';
import { ATR, getStandardDeviation, getZScore } from 'trading-signals';
import { describe, expect, it } from 'vitest';
import { FeaturePipeline } from '../src/index';
import { BINANCE_BTC_1H, BYBIT_BTC_1M, readCandles } from './data';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
const TOLERANCE = 1e-9;

/** Largest relative difference seen, how many values were compared, and every miss. */
class Agreement {
  worst = 0;
  compared = 0;
  readonly misses: string[] = [];
  check(name: string, index: number, actual: number | undefined, expected: number): void {
    this.compared += 1;
    if (actual === undefined) {
      this.misses.push(`${name} at bar ${index}: undefined vs reference ${expected}`);
      return;
    }
    const difference = Math.abs(actual - expected);
    const relative = expected === 0 ? difference : difference / Math.abs(expected);
    if (relative > this.worst) this.worst = relative;
    if (!(relative <= TOLERANCE))
      this.misses.push(`${name} at bar ${index}: ${actual} vs reference ${expected} (relative ${relative})`);
  }
  /** A value the reference does not have yet must be missing here too. */
  absent(name: string, index: number, actual: number | undefined): void {
    if (actual !== undefined)
      this.misses.push(`${name} at bar ${index}: ${actual} during the reference's warmup`);
  }
}

function compareWithReference(candles: readonly Candle[], barMs: number) {
  const period = { atr: 14, volume: 20, volatility: 30 };
  const pipeline = new FeaturePipeline('binance', 'BTC', {
    atrPeriod: period.atr,
    volumePeriod: period.volume,
    volatilityPeriod: period.volatility,
  });
  const referenceAtr = new ATR(period.atr);
  const agreement = {
    atr: new Agreement(),
    body: new Agreement(),
    volumeZ: new Agreement(),
    vol: new Agreement(),
  };
  const logReturns: number[] = [];
  for (let index = 0; index < candles.length; index += 1) {
    const candle = candles[index] as Candle;
    pipeline.onBar(candle);
    const features = pipeline.snapshot(candle.timestamp + barMs);

    const atr = referenceAtr.update({ high: candle.high, low: candle.low, close: candle.close }, false);
    if (atr === null) agreement.atr.absent('atr', index, features.atr);
    else {
      agreement.atr.check('atr', index, features.atr, atr);
      agreement.body.check('bodyOverAtr', index, features.bodyOverAtr, (candle.close - candle.open) / atr);
    }

    if (index >= period.volume) {
      const prior = candles.slice(index - period.volume, index).map((bar) => bar.volume);
      agreement.volumeZ.check('volumeZ', index, features.volumeZ, getZScore(prior, candle.volume));
    } else agreement.volumeZ.absent('volumeZ', index, features.volumeZ);

    if (index > 0) logReturns.push(Math.log(candle.close / (candles[index - 1] as Candle).close));
    if (logReturns.length >= period.volatility) {
      const window = logReturns.slice(-period.volatility);
      const expected = getStandardDeviation(window) * Math.sqrt(YEAR_MS / barMs);
      agreement.vol.check('realizedVol', index, features.realizedVol, expected);
    } else agreement.vol.absent('realizedVol', index, features.realizedVol);
  }
  return agreement;
}

describe('features against trading-signals on real data', () => {
  it('Binance BTCUSDT 1h: ATR, body/ATR, volume z-score, realized volatility within 1e-9', {
    timeout: 120_000,
  }, async () => {
    const candles = await readCandles(BINANCE_BTC_1H);
    expect(candles.length).toBe(13_848);
    const agreement = compareWithReference(candles, 3_600_000);
    for (const [name, result] of Object.entries(agreement)) {
      expect(result.misses.slice(0, 5), name).toEqual([]);
      expect(result.compared, name).toBeGreaterThan(13_800);
      console.log(
        `binance 1h ${name}: ${result.compared} values, worst relative difference ${result.worst.toExponential(2)}`,
      );
    }
  });

  it('Bybit BTCUSDT 1m: ATR, body/ATR, volume z-score, realized volatility within 1e-9', {
    timeout: 120_000,
  }, async () => {
    const candles = await readCandles(BYBIT_BTC_1M);
    expect(candles.length).toBe(43_200);
    const agreement = compareWithReference(candles, 60_000);
    for (const [name, result] of Object.entries(agreement)) {
      expect(result.misses.slice(0, 5), name).toEqual([]);
      expect(result.compared, name).toBeGreaterThan(43_100);
      console.log(
        `bybit 1m ${name}: ${result.compared} values, worst relative difference ${result.worst.toExponential(2)}`,
      );
    }
  });
});
