import type { AnyPlugin } from '@perpkit/core';
import simExchange from '@perpkit/sim';

/** Plugins the runner ships with, by name. Resolution tries these first. */
export function builtinPlugins(): Map<string, readonly AnyPlugin[]> {
  const plugins: AnyPlugin[] = [simExchange as AnyPlugin];
  const byName = new Map<string, AnyPlugin[]>();
  for (const plugin of plugins)
    byName.set(plugin.meta.name, [...(byName.get(plugin.meta.name) ?? []), plugin]);
  return byName;
}
