import type { AlertInput, AlertLevel } from '@perpkit/core';

export type Level = 'ok' | 'warning' | 'critical';

/** Tracks a level per key and turns changes into alerts: one alert per change, not per check. */
export class LevelTracker {
  private readonly levels = new Map<string, Level>();

  /** Records the level of `key`; returns an alert when it changed. */
  update(
    key: string,
    level: Level,
    alert: { code: string; message: string; recoveredCode: string; data?: Readonly<Record<string, unknown>> },
  ): AlertInput | undefined {
    const previous = this.levels.get(key) ?? 'ok';
    if (level === 'ok') this.levels.delete(key);
    else this.levels.set(key, level);
    if (level === previous) return undefined;
    if (level === 'ok')
      return {
        level: 'info',
        code: alert.recoveredCode,
        message: `recovered: ${alert.message}`,
        data: alert.data,
      };
    return { level: level as AlertLevel, code: alert.code, message: alert.message, data: alert.data };
  }

  anyCritical(): boolean {
    for (const level of this.levels.values()) if (level === 'critical') return true;
    return false;
  }
}
