import { base58 } from '@scure/base';
import { Keypair } from '@solana/web3.js';
import { DriftExchange } from '../src/exchange';
import { type FakeDriftRpc, type FakeRpcOptions, startFakeDriftRpc } from '../src/fake-rpc';
import type { DriftOptionsInput } from '../src/options';

/**
 * Published test vectors only: RFC 8032 section 7.1, TEST 1 and TEST 2 secret keys (ed25519
 * seeds). Their Solana public keys own the fake's test accounts.
 */
export const RFC8032_TEST1_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
export const RFC8032_TEST2_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';

export const TEST1_KEYPAIR = Keypair.fromSeed(Buffer.from(RFC8032_TEST1_SEED, 'hex'));
export const TEST2_KEYPAIR = Keypair.fromSeed(Buffer.from(RFC8032_TEST2_SEED, 'hex'));
/** TEST 1 as a wallet exports it: the 64-byte secret key in base58. */
export const TEST1_SECRET_KEY = base58.encode(TEST1_KEYPAIR.secretKey);
export const TEST1_AUTHORITY = TEST1_KEYPAIR.publicKey.toBase58();

/** Timings for tests: every wait short, the same code paths. */
export const FAST: Partial<DriftOptionsInput> = {
  pollIntervalMs: 100,
  reconnectIntervalMs: 100,
  connectAttempts: 3,
  connectBackoffMs: 20,
  confirmTimeoutMs: 400,
  statusQueryMs: 400,
  statusPollMs: 20,
  sendRetryDelaysMs: [20, 40, 80],
  syncRetryDelaysMs: [20, 40, 80],
};

export interface Venue {
  readonly rpc: FakeDriftRpc;
  readonly exchange: DriftExchange;
  readonly userAddress: string;
  stop(): Promise<void>;
}

/** A fresh fake RPC with the TEST 1 user (USDC deposited) and an adapter pointed at it (not connected). */
export async function startVenue(
  options: {
    usdc?: string;
    walletUsdc?: string;
    exchange?: Partial<DriftOptionsInput>;
    rpc?: FakeRpcOptions;
  } = {},
): Promise<Venue> {
  const rpc = await startFakeDriftRpc(options.rpc);
  const userAddress = rpc.addUser({
    authority: TEST1_AUTHORITY,
    usdc: options.usdc ?? '10000',
    walletUsdc: options.walletUsdc ?? '5000',
  });
  const exchange = new DriftExchange({
    rpcUrl: rpc.url,
    secretKey: TEST1_SECRET_KEY,
    ...FAST,
    ...options.exchange,
  });
  return {
    rpc,
    exchange,
    userAddress,
    async stop() {
      await exchange.close();
      await rpc.stop();
    },
  };
}

/** Collects an exchange event's payloads. */
export function collect<T>(
  venue: { exchange: DriftExchange },
  event:
    | 'fill'
    | 'order'
    | 'funding'
    | 'balance'
    | 'error'
    | 'connection'
    | 'account'
    | 'ticker'
    | 'position',
): T[] {
  const items: T[] = [];
  venue.exchange.events.on(event, ((...args: unknown[]) =>
    items.push((args.length > 1 ? args : args[0]) as T)) as never);
  return items;
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<
  Error & { code?: string; reason?: string; retryable?: boolean; details?: Record<string, unknown> }
> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; reason?: string };
  }
  throw new Error('expected a rejection, got a result');
}
