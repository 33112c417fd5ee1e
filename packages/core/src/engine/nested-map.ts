/**
 * Two-level map keyed by (exchange, symbol). Hot-path lookups avoid building `exchange:symbol`
 * strings on every call.
 */
export class InstrumentMap<Value> {
  private readonly byExchange = new Map<string, Map<string, Value>>();

  get(exchange: string, symbol: string): Value | undefined {
    return this.byExchange.get(exchange)?.get(symbol);
  }

  set(exchange: string, symbol: string, value: Value): void {
    let bySymbol = this.byExchange.get(exchange);
    if (!bySymbol) {
      bySymbol = new Map();
      this.byExchange.set(exchange, bySymbol);
    }
    bySymbol.set(symbol, value);
  }

  delete(exchange: string, symbol: string): void {
    this.byExchange.get(exchange)?.delete(symbol);
  }

  *values(): IterableIterator<Value> {
    for (const bySymbol of this.byExchange.values()) yield* bySymbol.values();
  }
}
