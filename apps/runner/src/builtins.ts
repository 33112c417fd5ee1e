import type { AnyPlugin } from '@perpkit/core';
import accountMonitors from '@perpkit/monitor-account';
import fundingFlip from '@perpkit/monitor-funding';
import hedge from '@perpkit/monitor-hedge';
import operationalMonitors from '@perpkit/monitor-operational';
import aiGate from '@perpkit/risk-ai-gate';
import exposure from '@perpkit/risk-exposure';
import lossLimits from '@perpkit/risk-loss-limits';
import operationalGates from '@perpkit/risk-operational';
import pacing from '@perpkit/risk-pacing';
import profitability from '@perpkit/risk-profitability';
import simExchange from '@perpkit/sim';

/**
 * Plugins the runner ships with, by name (resolution tries these first): the simulated venue,
 * every risk gate and every monitor. Two plugins of different kinds may share a name (the
 * `exposure` gate and the `exposure` monitor); a config entry picks by kind.
 */
export function builtinPlugins(): Map<string, readonly AnyPlugin[]> {
  const plugins = [
    simExchange,
    pacing,
    lossLimits,
    exposure,
    profitability,
    ...operationalGates,
    aiGate,
    ...accountMonitors,
    hedge,
    fundingFlip,
    ...operationalMonitors,
  ] as unknown as AnyPlugin[];
  const byName = new Map<string, AnyPlugin[]>();
  for (const plugin of plugins)
    byName.set(plugin.meta.name, [...(byName.get(plugin.meta.name) ?? []), plugin]);
  return byName;
}
