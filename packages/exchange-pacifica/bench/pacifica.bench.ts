/**
 * Pacifica adapter throughput: signed orders per second (canonical JSON + ed25519 + base58 + body)
 * and parsed book messages per second (JSON.parse + lenient schema + normalized OrderBook), plus
 * signed orders per second end to end against the loopback simulator.
 * Run: pnpm --filter @perpkit/exchange-pacifica bench
 */

import { PacificaExchange } from '../src/exchange';
import { parseBook } from '../src/schemas';
import { buildSignedRequest, keyPairFromSecretKey } from '../src/signing';
import { bookAround } from '../src/sim/price-feed';
import { PacificaSimulator } from '../src/sim/server';

// The SDK examples' published private key (not a secret).
const SDK_EXAMPLE_PRIVATE_KEY =
  '2Z2Wn4kN5ZNhZzuFTQSyTiN4ixX8U6ew5wPDJbHngZaC3zF3uWNj4dQ63cnGfXpw1cESZPCqvoZE7VURyuj9kf8b';

function report(name: string, unit: string, count: number, seconds: number): void {
  console.log(
    `${name.padEnd(52)} ${Math.round(count / seconds)
      .toLocaleString('en-US')
      .padStart(10)} ${unit}/s  (${count.toLocaleString('en-US')} in ${(seconds * 1000).toFixed(0)} ms)`,
  );
}

function measure(name: string, unit: string, count: number, run: (index: number) => void): void {
  for (let index = 0; index < Math.ceil(count / 10); index += 1) run(index); // warm up
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) run(index);
  report(name, unit, count, Number(process.hrtime.bigint() - started) / 1e9);
}

const keyPair = keyPairFromSecretKey(SDK_EXAMPLE_PRIVATE_KEY);
measure('sign a limit order (message, ed25519, base58, body)', 'orders', 2_000, (index) => {
  buildSignedRequest({
    type: 'create_order',
    timestamp: 1_748_970_123_456 + index,
    expiryWindow: 5_000,
    data: {
      symbol: 'BTC',
      price: String(100_000 + (index % 100)),
      amount: '0.1',
      side: 'bid',
      tif: 'GTC',
      reduce_only: false,
      client_order_id: '12345678-1234-1234-1234-123456789abc',
    },
    account: keyPair.publicKey,
    secretKey: keyPair,
  });
});

const texts: string[] = [];
for (let index = 0; index < 200; index += 1) {
  const { bids, asks } = bookAround(100_000 + index * 3, {
    tickSize: '1',
    lotSize: '0.00001',
    levels: 10,
    levelNotional: 50_000,
    halfSpread: 0.0001,
  });
  const level = ([p, a]: readonly [number, number]) => ({ p: String(p), a: a.toFixed(5), n: 3 });
  texts.push(
    JSON.stringify({
      channel: 'book',
      data: { s: 'BTC', l: [bids.map(level), asks.map(level)], t: 1_749_051_881_187 + index },
    }),
  );
}
measure('parse a 10x10 book message (JSON, schema, OrderBook)', 'messages', 50_000, (index) => {
  const message = JSON.parse(texts[index % texts.length] as string) as { data: unknown };
  const book = parseBook(message.data);
  if (typeof book === 'string') throw new Error(book);
  const levels = (side: readonly { p: number; a: number }[]) =>
    side.map((entry) => [entry.p, entry.a] as const);
  if (levels(book.l[0]).length + levels(book.l[1]).length !== 20) throw new Error('bad book');
});

// End to end: sign, POST over loopback HTTP, verify, match in SimExchange, answer.
const simulator = new PacificaSimulator({
  accounts: [{ address: keyPair.publicKey, balance: 1_000_000_000 }],
  tickIntervalMs: 1_000,
});
const { restUrl, wsUrl } = await simulator.start();
const exchange = new PacificaExchange({
  baseUrl: restUrl,
  wsUrl,
  websocket: false,
  accounts: [{ id: 'main', secretKey: SDK_EXAMPLE_PRIVATE_KEY }],
});
await exchange.connect();
const mark = (await exchange.fetchTicker('BTC')).mark;
const total = 300;
const started = process.hrtime.bigint();
for (let index = 0; index < total; index += 1) {
  const order = await exchange.submitOrder({
    account: 'main',
    symbol: 'BTC',
    side: 'buy',
    type: 'limit',
    price: String(Math.floor(mark * 0.5) - (index % 50)),
    quantity: '0.001',
    timeInForce: 'post-only',
  });
  await exchange.cancelOrder({ account: 'main', symbol: 'BTC', orderId: order.id });
}
report(
  'place + cancel over loopback HTTP (simulator)',
  'round trips',
  total * 2,
  Number(process.hrtime.bigint() - started) / 1e9,
);
await exchange.close();
await simulator.stop();
