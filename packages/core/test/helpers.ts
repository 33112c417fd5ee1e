/*
 * Engine tests drive a real Engine over the testkit's FakeExchange. The fake is imported from the
 * testkit's source by path: a package dependency would make core and testkit depend on each other.
 */
import { FakeExchange, type FakeExchangeOptions } from '../../testkit/src/fake-exchange';
import { SimulatedClock } from '../src/clock';
import { type ComponentSpec, Engine, type EngineOptions } from '../src/engine/engine';
import type { EngineEventName } from '../src/events';
import type { ExitDecision, ExitLayer, ExitRule } from '../src/exit';
import type { RiskDecision, RiskGate } from '../src/risk';
import type { SignalInput } from '../src/signal';
import type { StateView } from '../src/state';
import type { Strategy } from '../src/strategy';

export { FakeExchange };

export const T0 = 1_700_000_000_000;

export function spec<T>(id: string, component: T): ComponentSpec<T> {
  return { id, create: () => component };
}

export function scripted(
  id: string,
  script: (state: StateView) => readonly SignalInput[] | undefined,
): ComponentSpec<Strategy> {
  return spec(id, { onCycle: script });
}

export function rule(
  name: string,
  layer: ExitLayer,
  priority: number,
  decide: (state: StateView) => ExitDecision | null,
): ComponentSpec<ExitRule> {
  return spec(name, { name, layer, priority, evaluate: (_position, state) => decide(state) });
}

export function gate(name: string, decide: (quantity: number) => RiskDecision): ComponentSpec<RiskGate> {
  return spec(name, { name, evaluate: (proposal) => decide(proposal.quantity) });
}

export const why = (code: string) => [{ code, message: code.toLowerCase() }];

export async function setup(
  options: Partial<Omit<EngineOptions, 'exchanges' | 'clock'>> & { exchange?: FakeExchangeOptions } = {},
) {
  const clock = new SimulatedClock(T0);
  const exchange = new FakeExchange({ markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }], ...options.exchange });
  exchange.setTime(T0);
  const engine = new Engine({ mode: 'backtest', ...options, clock, exchanges: [exchange] });
  const log: { event: EngineEventName; data: unknown }[] = [];
  const record = <Name extends EngineEventName>(event: Name) =>
    engine.events.on(event, ((data: unknown) => log.push({ event, data })) as never);
  for (const event of [
    'signal',
    'exit',
    'risk:decision',
    'order:denied',
    'order:submitted',
    'order:failed',
    'fill',
    'phase',
    'alert',
    'cycle',
    'cycle:error',
    'trade:closed',
    'engine:stop',
  ] as const) {
    record(event);
  }
  await engine.init();
  for (const market of await exchange.fetchMarkets()) exchange.setPrice(market.symbol, 100);
  const of = <T>(event: EngineEventName) =>
    log.filter((entry) => entry.event === event).map((entry) => entry.data as T);
  return { engine, exchange, clock, log, of };
}
