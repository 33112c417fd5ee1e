import { describe, expect, it } from 'vitest';
import type { SetupContext } from '../src/plugin';
import { ServiceRegistry } from '../src/services';
import { setup } from './helpers';

describe('shared services', () => {
  it('creates a service once per key and hands the same instance to every user', () => {
    const registry = new ServiceRegistry();
    let created = 0;
    const first = registry.use('counter', () => ({ id: ++created }));
    const second = registry.use('counter', () => ({ id: ++created }));
    expect(second).toBe(first);
    expect(created).toBe(1);
    expect(registry.get('counter')).toBe(first);
    expect(registry.get('missing')).toBeUndefined();
  });

  it('is shared by the components of one engine and never across engines', async () => {
    const seen: SetupContext['services'][] = [];
    const component = (id: string) => ({
      id,
      create: (context: SetupContext) => {
        seen.push(context.services);
        return { onCycle: () => undefined };
      },
    });
    const one = await setup({ strategies: [component('a'), component('b')] });
    const two = await setup({ strategies: [component('c')] });
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toBe(one.engine.services);
    expect(seen[2]).toBe(two.engine.services);
    expect(seen[2]).not.toBe(seen[0]);
    const service = seen[0]?.use('hub', () => ({ engine: 'one' }));
    expect(seen[1]?.get('hub')).toBe(service);
    expect(seen[2]?.get('hub')).toBeUndefined();
  });
});
