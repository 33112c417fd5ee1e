/**
 * Signer throughput: signatures per second (create-order tx: hash + Schnorr with a fresh nonce),
 * verifications per second, and the pieces that dominate them.
 * Run: pnpm --filter @perpkit/exchange-lighter bench
 */
import {
  CURVE_ORDER,
  createOrderTxHash,
  GENERATOR,
  generatorMultiply,
  lighterPublicKey,
  pointMultiply,
  poseidon2Permute,
  schnorrVerify,
  signCreateOrder,
} from '../src/signer/index';

// The published poseidon_crypto Schnorr test scalar sks[0] as a 40-byte little-endian key: a test key.
const TEST_PRIVATE_KEY = '4980df1a5a76cba9fef4d80446e951108e16a5b21f497976475c950bd2588c5a58771d5b06498d28';
const CHAIN_ID = 304;

/**
 * Reports operations per second of CPU time (this process) and of wall time: on a shared machine
 * the CPU figure is the stable one.
 */
function measure(name: string, unit: string, count: number, run: (index: number) => void): void {
  for (let index = 0; index < Math.max(1, Math.floor(count / 10)); index += 1) run(index); // warm the JIT
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) run(index);
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const rate = (seconds: number) => Math.round(count / seconds).toLocaleString('en-US');
  console.log(
    `${name.padEnd(44)} ${rate(cpuSeconds).padStart(8)} ${unit}/s of CPU  ${rate(wall).padStart(8)}/s wall  (${count} runs)`,
  );
}

const order = (nonce: number) => ({
  AccountIndex: 281_474_976_710_000,
  ApiKeyIndex: 4,
  MarketIndex: 0,
  ClientOrderIndex: 1 + nonce,
  BaseAmount: 1000,
  Price: 3_000_000,
  IsAsk: 0,
  Type: 0,
  TimeInForce: 1,
  ReduceOnly: 0,
  TriggerPrice: 0,
  OrderExpiry: 1_702_419_200_000,
  ExpiredAt: 1_700_000_599_000,
  Nonce: nonce,
});

const publicKey = lighterPublicKey(TEST_PRIVATE_KEY); // also builds the fixed-base table
const signed = signCreateOrder(order(0), TEST_PRIVATE_KEY, CHAIN_ID);
const signature = Buffer.from((JSON.parse(signed.txInfo) as { Sig: string }).Sig, 'base64');
const state = Array.from(
  { length: 12 },
  (_, index) => (BigInt(index) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn,
);

measure('Poseidon2 permutation', 'perms', 5_000, () => poseidon2Permute(state));
measure('create-order tx hash', 'hashes', 2_000, (index) => createOrderTxHash(order(index), CHAIN_ID));
// Full-size scalars: a 320-bit odd multiplier walks the scalar range.
const scalar = (index: number) =>
  (BigInt(index + 1) * 0x9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251n) % CURVE_ORDER;
measure('k·G (fixed-base table)', 'mults', 300, (index) => generatorMultiply(scalar(index)));
measure('k·P (generic 4-bit window)', 'mults', 50, (index) => pointMultiply(GENERATOR, scalar(index)));
measure('signCreateOrder (hash + Schnorr, random k)', 'signatures', 300, (index) =>
  signCreateOrder(order(index), TEST_PRIVATE_KEY, CHAIN_ID),
);
measure('schnorrVerify', 'verifications', 100, () => {
  if (!schnorrVerify(publicKey, signed.txHash, signature)) throw new Error('verification failed');
});
