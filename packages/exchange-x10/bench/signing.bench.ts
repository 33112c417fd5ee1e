/**
 * Signed orders per second on one core: `createOrderRequest` end to end (amount scaling, SNIP-12
 * hash, Stark ECDSA, JSON body), measured in process CPU time so other load on the machine counts
 * less. Also the @scure/starknet reference path (its Poseidon and sign) for comparison.
 */
import { poseidonHashMany, sign } from '@scure/starknet';
import {
  type CreateOrderRequestInput,
  createOrderRequest,
  orderMessageHash,
  signMessageHash,
} from '../src/signing';

const market = {
  name: 'BTC-USD',
  syntheticAssetId: '0x4254432d3600000000000000000000',
  syntheticResolution: 1_000_000,
  collateralAssetId: '0x31857064564ed0ff978e687456963cba09c2c6985d8f9300a1de4962fafa054',
  collateralResolution: 1_000_000,
};
// The python_sdk's published TEST key.
const account = {
  vault: 10002,
  starkPrivateKey: '0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986',
  starkPublicKey: '0x61c5e7e8339b7d56f197f54ea91b776776690e3232313de0f2ecbd0ef76f466',
};
// A bot's usual flow: a few clip sizes, prices moving. `distinctSizes` makes every size new.
let distinctSizes = false;
const input = (nonce: number): CreateOrderRequestInput => ({
  market,
  account,
  side: nonce % 2 === 0 ? 'BUY' : 'SELL',
  type: 'LIMIT',
  qty: distinctSizes ? (0.001 + nonce / 100_000).toFixed(5) : '0.01234',
  price: (60_000 + (nonce % 1000) / 10).toFixed(1),
  timeInForce: 'GTT',
  feeRate: '0.00025',
  nonce,
  expiryEpochMillis: 1_767_225_600_000 + nonce,
  chainId: 'SN_MAIN',
});

function measure(label: string, count: number, run: (index: number) => void): number {
  for (let index = 0; index < 200; index++) run(1_000_000 + index); // warm-up (and the comb table)
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  for (let index = 1; index <= count; index++) run(index);
  const cpu = process.cpuUsage(cpuStart);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const perCpuSecond = count / cpuSeconds;
  console.log(
    `${label.padEnd(44)} ${Math.round(perCpuSecond).toString().padStart(7)} /s (CPU time)   ${Math.round(
      count / wallSeconds,
    )
      .toString()
      .padStart(7)} /s (wall)`,
  );
  return perCpuSecond;
}

const count = Number(process.env.BENCH_ORDERS ?? 4000);
console.log(`node ${process.version}, ${count} orders per run`);
const full = measure('createOrderRequest, repeated sizes', count, (index) =>
  createOrderRequest(input(index)),
);
distinctSizes = true;
const everyNew = measure('createOrderRequest, every size new', count, (index) =>
  createOrderRequest(input(index)),
);
distinctSizes = false;
measure('orderMessageHash only', count, (index) => orderMessageHash(input(index)));
const hash = orderMessageHash(input(1));
measure('signMessageHash only', count, (index) =>
  signMessageHash(hash + BigInt(index), account.starkPrivateKey),
);
measure('reference: @scure poseidonHashMany + sign', Math.ceil(count / 8), (index) => {
  const values = Array.from({ length: 10 }, (_, position) => BigInt(index + position));
  const digest = poseidonHashMany(values);
  poseidonHashMany([1n, 2n, 3n, digest]);
  sign(`0x${digest.toString(16)}`, account.starkPrivateKey.slice(2));
});
console.log(
  `target 2000 signed orders/s on one core: ${everyNew > 2000 ? 'met' : full > 2000 ? 'met for repeated sizes only' : 'NOT met'} (${Math.round(full)}/s repeated sizes, ${Math.round(everyNew)}/s every size new)`,
);
