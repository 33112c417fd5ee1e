import { EngineError } from './errors';

/**
 * Small durable state a plugin keeps across restarts: a tripped circuit breaker, an equity peak,
 * the trades counted today. Values must be JSON-serializable. Every change is an engine `memory`
 * event, so a persistent store (the runner's SQLite store) keeps it, and the host hands it back
 * through `EngineOptions.memory` when it restarts.
 */
export interface PluginMemory {
  get<Value = unknown>(key: string): Value | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** One change of a plugin's memory; `value` is absent when the key was deleted. */
export interface MemoryChange {
  readonly at: number;
  /** The component id (`setup` context id). */
  readonly component: string;
  readonly key: string;
  readonly value?: unknown;
}

/** Remembered values by component id, then key. */
export type MemorySnapshot = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The in-process memory of all components, seeded from a snapshot, reporting every change. */
export class MemoryBank {
  private readonly values = new Map<string, Map<string, unknown>>();

  constructor(
    initial: MemorySnapshot | undefined,
    private readonly onChange: (change: Omit<MemoryChange, 'at'>) => void,
  ) {
    for (const [component, entries] of Object.entries(initial ?? {}))
      this.values.set(component, new Map(Object.entries(entries)));
  }

  /** The memory one component sees. */
  forComponent(component: string): PluginMemory {
    const entries = () => {
      let map = this.values.get(component);
      if (!map) {
        map = new Map();
        this.values.set(component, map);
      }
      return map;
    };
    return {
      get: <Value>(key: string) => this.values.get(component)?.get(key) as Value | undefined,
      set: (key, value) => {
        // A JSON round trip both checks serializability and stops later mutation of `value`
        // from changing what was remembered.
        const stored = jsonCopy(component, key, value);
        entries().set(key, stored);
        this.onChange({ component, key, value: stored });
      },
      delete: (key) => {
        if (!this.values.get(component)?.delete(key)) return;
        this.onChange({ component, key });
      },
    };
  }

  snapshot(): MemorySnapshot {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [component, entries] of this.values) out[component] = Object.fromEntries(entries);
    return out;
  }
}

function jsonCopy(component: string, key: string, value: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    text = undefined;
    void error;
  }
  if (text === undefined)
    throw new EngineError(
      'INVALID_ARGUMENT',
      `memory "${component}.${key}": the value must be JSON-serializable (got ${typeof value})`,
    );
  return JSON.parse(text);
}

/** A memory that forgets everything; for contexts without an engine. */
export function ephemeralMemory(): PluginMemory {
  const values = new Map<string, unknown>();
  return {
    get: <Value>(key: string) => values.get(key) as Value | undefined,
    set: (key, value) => void values.set(key, value),
    delete: (key) => void values.delete(key),
  };
}
