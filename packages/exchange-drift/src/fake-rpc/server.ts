import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BN } from '@drift-labs/sdk';
import { base58 } from '@scure/base';
import { Keypair, VersionedTransaction } from '@solana/web3.js';
import { userAccountAddress } from '../address';
import { DriftCoder } from '../coder';
import { decimalToScaled } from '../precision';
import {
  buildOracle,
  buildPerpMarket,
  buildSpotMarket,
  buildState,
  buildUser,
  DEFAULT_PERP_MARKETS,
  DEFAULT_SPOT_MARKETS,
  type FakePerpMarketSpec,
  type FakeSpotMarketSpec,
} from './markets';
import { associatedTokenAddress, type ExecutionResult, FakeDriftProgram } from './program';

export interface FakeRpcOptions {
  readonly perpMarkets?: readonly FakePerpMarketSpec[];
  readonly spotMarkets?: readonly FakeSpotMarketSpec[];
  /** Taker fee of fee tier 0, in basis points of notional (default 3.5). */
  readonly takerFeeBps?: number;
  /** Start time of the venue clock, epoch seconds (default: now). */
  readonly nowSeconds?: number;
}

interface JsonRpcRequest {
  readonly jsonrpc?: string;
  readonly id?: unknown;
  readonly method?: string;
  readonly params?: unknown[];
}

interface TransactionRecord {
  readonly signature: string;
  readonly transaction: VersionedTransaction | undefined;
  slot: number;
  landed: boolean;
  err: unknown;
  logs: string[];
  unitsConsumed: number;
  blockTime: number;
  /** Keeper-side transactions list their accounts here (no message to read them from). */
  readonly accounts: string[];
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** What the next transactions do, set by tests. Each entry is consumed by one transaction. */
interface Faults {
  simulationFailures: string[];
  sendErrors: { code: number; message: string }[];
  /** Accepted, never landed: a confirmation timeout, then "unknown" or (after expiry) "failed". */
  dropped: number;
  /** Accepted, landed only after this many ms. */
  landingDelaysMs: number[];
  /** Accepted and landed with this program error, as if the state changed after preflight. */
  landFailures: string[];
}

/**
 * A loopback Solana JSON-RPC server holding Drift accounts: the recorded User fixtures or fresh
 * users, markets, oracles and the State built with the SDK's coders. It runs transactions through
 * `FakeDriftProgram` and answers `simulateTransaction`, `sendTransaction`, `getSignatureStatuses`
 * and `getTransaction` with outcomes tests control (failed simulation, dropped or late landing,
 * send errors, being offline, frozen accounts).
 */
export class FakeDriftRpc {
  readonly coder = new DriftCoder();
  readonly program: FakeDriftProgram;
  /** Every method called, in order (bounded to the last 5 000). */
  readonly calls: string[] = [];
  private server: Server | undefined;
  private port = 0;
  private slot = 300_000_000;
  /** Block height moves only when a test expires blockhashes, so validity never depends on request counts. */
  private blockHeight = 280_000_000;
  private nowSeconds: number;
  private readonly blockhashes = new Map<string, number>();
  private readonly transactions = new Map<string, TransactionRecord>();
  private readonly signaturesByAddress = new Map<string, string[]>();
  private readonly frozen = new Map<string, Buffer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly perpSymbols = new Map<string, number>();
  private readonly spotSymbols = new Map<string, number>();
  private readonly faults: Faults = {
    simulationFailures: [],
    sendErrors: [],
    dropped: 0,
    landingDelaysMs: [],
    landFailures: [],
  };
  private offline = false;

  constructor(options: FakeRpcOptions = {}) {
    this.nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
    const perpSpecs = options.perpMarkets ?? DEFAULT_PERP_MARKETS;
    const spotSpecs = options.spotMarkets ?? DEFAULT_SPOT_MARKETS;
    this.program = new FakeDriftProgram(
      this.coder,
      buildState(this.coder, {
        perpMarkets: perpSpecs.length,
        spotMarkets: spotSpecs.length,
        ...(options.takerFeeBps === undefined ? {} : { takerFeeBps: options.takerFeeBps * 10 }),
      }),
      { slot: () => this.slot, nowSeconds: () => this.nowSeconds },
    );
    for (const spec of perpSpecs) {
      const market = buildPerpMarket(this.coder, spec, this.nowSeconds);
      this.program.perpMarkets.set(spec.marketIndex, market);
      this.program.oracles.set(
        market.amm.oracle.toBase58(),
        buildOracle(spec.price, this.slot, this.nowSeconds),
      );
      this.perpSymbols.set(spec.symbol, spec.marketIndex);
    }
    for (const spec of spotSpecs) {
      const market = buildSpotMarket(this.coder, spec, this.nowSeconds);
      this.program.spotMarkets.set(spec.marketIndex, market);
      this.program.oracles.set(market.oracle.toBase58(), buildOracle(spec.price, this.slot, this.nowSeconds));
      this.program.tokens.set(market.vault.toBase58(), {
        mint: spec.mint,
        owner: market.vault.toBase58(),
        amount: 0n,
      });
      this.spotSymbols.set(spec.symbol, spec.marketIndex);
    }
  }

  /** `http://127.0.0.1:<port>` once started. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.onRequest(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ setup

  /**
   * A fresh User account for `authority`'s sub-account with `usdc` deposited, and `walletUsdc` in
   * the authority's USDC token account. Returns the user account address.
   */
  addUser(options: { authority: string; subAccountId?: number; usdc?: string; walletUsdc?: string }): string {
    const subAccountId = options.subAccountId ?? 0;
    const usdc = decimalToScaled(options.usdc ?? '0', 'quote');
    const market = this.program.spotMarkets.get(0);
    if (!market) throw new Error('the fake has no USDC spot market');
    const scaledBalance = usdc.mul(new BN(1000));
    const user = buildUser(this.coder, {
      authority: options.authority,
      subAccountId,
      usdcScaledBalance: scaledBalance,
      deposits: usdc,
    });
    const address = userAccountAddress(options.authority, subAccountId);
    this.program.users.set(address, user);
    const vault = this.program.tokens.get(market.vault.toBase58());
    if (vault) vault.amount += BigInt(usdc.toString());
    this.setWalletUsdc(options.authority, options.walletUsdc ?? '0');
    return address;
  }

  /** Serves a recorded User account (raw bytes or base64) at its program address. */
  addUserAccount(data: Uint8Array | string): string {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.from(data);
    const user = this.coder.decodeAccount<import('@drift-labs/sdk').UserAccount>('User', bytes);
    const address = userAccountAddress(user.authority, user.subAccountId);
    this.program.users.set(address, user);
    return address;
  }

  setWalletUsdc(authority: string, amount: string): void {
    const mint = this.program.spotMarkets.get(0)?.mint.toBase58();
    if (!mint) throw new Error('the fake has no USDC spot market');
    const address = associatedTokenAddress(authority, mint);
    const existing = this.program.tokens.get(address);
    const value = BigInt(decimalToScaled(amount, 'quote').toString());
    if (existing) existing.amount = value;
    else this.program.tokens.set(address, { mint, owner: authority, amount: value });
  }

  walletUsdc(authority: string): bigint {
    const mint = this.program.spotMarkets.get(0)?.mint.toBase58() ?? '';
    return this.program.tokens.get(associatedTokenAddress(authority, mint))?.amount ?? 0n;
  }

  user(address: string): import('@drift-labs/sdk').UserAccount | undefined {
    return this.program.users.get(address);
  }

  perpMarketIndex(symbol: string): number {
    const index = this.perpSymbols.get(symbol);
    if (index === undefined) throw new Error(`the fake has no perp market ${symbol}`);
    return index;
  }

  /**
   * Moves a perp market's oracle (and the market's TWAPs with it); resting limit orders the new
   * price crosses are filled by a keeper, each fill a transaction of its own.
   */
  setPrice(symbol: string, price: string): void {
    const index = this.perpMarketIndex(symbol);
    const market = this.program.perpMarkets.get(index);
    if (!market) return;
    this.slot += 1;
    const oracle = buildOracle(price, this.slot, this.nowSeconds);
    this.program.oracles.set(market.amm.oracle.toBase58(), oracle);
    const scaled = oracle.price.divn(100);
    market.amm.historicalOracleData.lastOraclePrice = scaled;
    market.amm.pegMultiplier = scaled;
    for (const { user, logs } of this.program.fillCrossedOrders(index)) {
      const signature = FakeDriftProgram.randomSignature();
      this.record({
        signature,
        transaction: undefined,
        slot: this.slot,
        landed: true,
        err: null,
        logs,
        unitsConsumed: 100_000,
        blockTime: this.nowSeconds,
        accounts: [user],
      });
    }
  }

  /**
   * Sets the market's mark TWAPs (and the AMM peg) at the oracle × (1 + premium): the SDK's live
   * funding estimate follows (positive premium: longs pay).
   */
  setMarkPremium(symbol: string, premium: number): void {
    const market = this.program.perpMarkets.get(this.perpMarketIndex(symbol));
    if (!market) return;
    const oracle = this.program.perpOraclePrice(market.marketIndex);
    const mark = oracle.muln(Math.round((1 + premium) * 1_000_000)).divn(1_000_000);
    const amm = market.amm;
    amm.pegMultiplier = mark;
    amm.lastMarkPriceTwap = mark;
    amm.lastMarkPriceTwap5Min = mark;
    amm.lastBidPriceTwap = mark;
    amm.lastAskPriceTwap = mark;
    amm.lastMarkPriceTwapTs = new BN(this.nowSeconds);
    amm.historicalOracleData.lastOraclePriceTwap = oracle;
    amm.historicalOracleData.lastOraclePriceTwapTs = new BN(this.nowSeconds);
  }

  setSpotPrice(symbol: string, price: string): void {
    const index = this.spotSymbols.get(symbol);
    const market = index === undefined ? undefined : this.program.spotMarkets.get(index);
    if (!market) throw new Error(`the fake has no spot market ${symbol}`);
    this.program.oracles.set(market.oracle.toBase58(), buildOracle(price, this.slot, this.nowSeconds));
  }

  /**
   * Settles an hourly funding period at `hourlyRate` (a fraction; positive: longs pay). The
   * market's funding timestamp moves an hour; the venue clock does not (tests compress hours).
   */
  updateFunding(symbol: string, hourlyRate: string): void {
    this.program.updateFunding(this.perpMarketIndex(symbol), hourlyRate);
  }

  /** Advances the venue clock (funding TWAP windows, order timestamps). */
  advanceTime(seconds: number): void {
    this.nowSeconds += seconds;
  }

  // ------------------------------------------------------------------ faults

  /** The next simulation (preflight or `simulateTransaction`) fails with this Drift error. */
  failNextSimulation(errorName = 'InsufficientCollateral'): void {
    this.faults.simulationFailures.push(errorName);
  }

  /** The next `count` `sendTransaction` calls answer a JSON-RPC error (a node behind, overloaded). */
  failNextSends(count: number, code = -32005, message = 'Node is behind by 42 slots'): void {
    for (let index = 0; index < count; index += 1) this.faults.sendErrors.push({ code, message });
  }

  /** The next `count` transactions are accepted but never land. */
  dropNextTransactions(count = 1): void {
    this.faults.dropped += count;
  }

  /** The next transaction lands after `delayMs`. */
  delayNextLanding(delayMs: number): void {
    this.faults.landingDelaysMs.push(delayMs);
  }

  /** The next transaction passes preflight but lands failed with this Drift error. */
  failNextLanding(errorName = 'InsufficientCollateral'): void {
    this.faults.landFailures.push(errorName);
  }

  /** Offline: every request's connection is dropped without an answer. */
  setOffline(offline: boolean): void {
    this.offline = offline;
  }

  /**
   * Freezes what the RPC serves for an account (a node stuck on an old slot): transactions still
   * apply, reads return the bytes of the moment of freezing.
   */
  freezeAccount(address: string, frozen: boolean): void {
    if (!frozen) {
      this.frozen.delete(address);
      return;
    }
    const info = this.program.accountInfo(address);
    if (info) this.frozen.set(address, info.data);
  }

  /** Advances block height past every blockhash handed out so far: pending transactions expire. */
  expireBlockhashes(): void {
    this.blockHeight += 200;
  }

  /** Status of a transaction as the fake knows it (`undefined`: never seen). */
  transactionStatus(signature: string): 'landed' | 'failed' | 'pending' | undefined {
    const record = this.transactions.get(signature);
    if (!record) return undefined;
    if (!record.landed) return 'pending';
    return record.err === null ? 'landed' : 'failed';
  }

  /** Signatures of every transaction the fake accepted, oldest first. */
  signatures(): string[] {
    return [...this.transactions.keys()];
  }

  // ------------------------------------------------------------------ transactions

  private record(record: TransactionRecord): void {
    this.transactions.set(record.signature, record);
    const accounts = record.transaction
      ? record.transaction.message.staticAccountKeys.map((key) => key.toBase58())
      : record.accounts;
    for (const account of accounts) {
      const list = this.signaturesByAddress.get(account) ?? [];
      list.unshift(record.signature);
      this.signaturesByAddress.set(account, list);
    }
  }

  /** Runs a transaction on a snapshot; keeps the changes only when `commit` and it succeeded. */
  private run(transaction: VersionedTransaction, commit: boolean, forcedError?: string): ExecutionResult {
    const snapshot = this.program.snapshot();
    const result = this.program.execute(transaction);
    if (forcedError !== undefined && result.err === null) {
      this.program.restore(snapshot);
      const code = this.coder.errorCode(forcedError);
      return {
        err: { InstructionError: [0, { Custom: code }] },
        logs: [
          ...result.logs.filter((line) => !line.startsWith('Program data:')),
          `Program log: AnchorError occurred. Error Code: ${forcedError}. Error Number: ${code}. Error Message: ${forcedError}.`,
        ],
        unitsConsumed: result.unitsConsumed,
        touched: [],
      };
    }
    if (!commit || result.err !== null) this.program.restore(snapshot);
    return result;
  }

  private checkBlockhash(transaction: VersionedTransaction): void {
    const lastValid = this.blockhashes.get(transaction.message.recentBlockhash);
    if (lastValid === undefined || this.blockHeight > lastValid)
      throw new RpcError(-32002, 'Transaction simulation failed: Blockhash not found', {
        err: 'BlockhashNotFound',
        logs: [],
        accounts: null,
        unitsConsumed: 0,
      });
  }

  private simulate(transaction: VersionedTransaction): ExecutionResult {
    const forced = this.faults.simulationFailures.shift();
    if (forced !== undefined) {
      const code = this.coder.errorCode(forced);
      return {
        err: { InstructionError: [0, { Custom: code }] },
        logs: [
          `Program log: AnchorError occurred. Error Code: ${forced}. Error Number: ${code}. Error Message: ${forced}.`,
        ],
        unitsConsumed: 0,
        touched: [],
      };
    }
    return this.run(transaction, false);
  }

  private land(record: TransactionRecord): void {
    if (!record.transaction) return;
    // A transaction whose blockhash expired while it was in flight never lands.
    const lastValid = this.blockhashes.get(record.transaction.message.recentBlockhash) ?? 0;
    if (this.blockHeight > lastValid) return;
    const forced = this.faults.landFailures.shift();
    const result = this.run(record.transaction, true, forced);
    this.slot += 1;
    record.slot = this.slot;
    record.landed = true;
    record.err = result.err;
    record.logs = [...result.logs];
    record.unitsConsumed = result.unitsConsumed;
    record.blockTime = this.nowSeconds;
  }

  private sendTransaction(params: unknown[]): string {
    const error = this.faults.sendErrors.shift();
    if (error) throw new RpcError(error.code, error.message);
    const [encoded, config] = params as [string, { encoding?: string; skipPreflight?: boolean } | undefined];
    const bytes =
      config?.encoding === 'base64' ? Buffer.from(encoded, 'base64') : Buffer.from(base58.decode(encoded));
    const transaction = VersionedTransaction.deserialize(bytes);
    const signature = base58.encode(transaction.signatures[0] ?? new Uint8Array(64));
    if (this.transactions.has(signature)) return signature;
    this.checkBlockhash(transaction);
    if (!config?.skipPreflight) {
      const preflight = this.simulate(transaction);
      if (preflight.err !== null)
        throw new RpcError(-32002, `Transaction simulation failed: ${JSON.stringify(preflight.err)}`, {
          err: preflight.err,
          logs: preflight.logs,
          accounts: null,
          unitsConsumed: preflight.unitsConsumed,
        });
    }
    const record: TransactionRecord = {
      signature,
      transaction,
      slot: 0,
      landed: false,
      err: null,
      logs: [],
      unitsConsumed: 0,
      blockTime: this.nowSeconds,
      accounts: [],
    };
    this.record(record);
    if (this.faults.dropped > 0) {
      this.faults.dropped -= 1;
      return signature;
    }
    const delay = this.faults.landingDelaysMs.shift();
    if (delay === undefined) this.land(record);
    else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.land(record);
      }, delay);
      this.timers.add(timer);
    }
    return signature;
  }

  /** Lands a raw transaction the way a block engine forwards a bundle member. */
  acceptBundleTransaction(bytes: Buffer): string {
    return this.sendTransaction([bytes.toString('base64'), { encoding: 'base64', skipPreflight: true }]);
  }

  // ------------------------------------------------------------------ JSON-RPC

  private accountValue(address: string): unknown {
    const frozen = this.frozen.get(address);
    const info = this.program.accountInfo(address);
    if (!info) return null;
    const data = frozen ?? info.data;
    return {
      data: [data.toString('base64'), 'base64'],
      executable: false,
      lamports: info.lamports,
      owner: info.owner,
      rentEpoch: 0,
      space: data.length,
    };
  }

  private context(): { slot: number } {
    return { slot: this.slot };
  }

  private transactionResult(record: TransactionRecord): unknown {
    const transaction = record.transaction;
    const message = transaction?.message;
    const keys = message
      ? message.staticAccountKeys.map((key) => key.toBase58())
      : [Keypair.generate().publicKey.toBase58(), ...record.accounts];
    return {
      slot: record.slot,
      blockTime: record.blockTime,
      version: message ? 0 : 'legacy',
      meta: {
        err: record.err,
        fee: 5000,
        innerInstructions: [],
        preBalances: keys.map(() => 0),
        postBalances: keys.map(() => 0),
        logMessages: record.logs,
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: record.unitsConsumed,
        status: record.err === null ? { Ok: null } : { Err: record.err },
      },
      transaction: {
        signatures: transaction
          ? transaction.signatures.map((signature) => base58.encode(signature))
          : [record.signature],
        message: {
          accountKeys: keys,
          header: message?.header ?? {
            numRequiredSignatures: 1,
            numReadonlySignedAccounts: 0,
            numReadonlyUnsignedAccounts: 0,
          },
          recentBlockhash: message?.recentBlockhash ?? base58.encode(randomBytes(32)),
          instructions: message
            ? message.compiledInstructions.map((instruction) => ({
                programIdIndex: instruction.programIdIndex,
                accounts: instruction.accountKeyIndexes,
                data: base58.encode(instruction.data),
              }))
            : [],
          addressTableLookups: [],
        },
      },
    };
  }

  private handle(method: string, params: unknown[]): unknown {
    this.calls.push(method);
    if (this.calls.length > 5_000) this.calls.splice(0, this.calls.length - 5_000);
    switch (method) {
      case 'getAccountInfo':
        return { context: this.context(), value: this.accountValue(params[0] as string) };
      case 'getMultipleAccounts':
        return {
          context: this.context(),
          value: (params[0] as string[]).map((address) => this.accountValue(address)),
        };
      case 'getSlot':
        return this.slot;
      case 'getBlockHeight':
        return this.blockHeight;
      case 'getHealth':
        return 'ok';
      case 'getVersion':
        return { 'solana-core': '2.1.0', 'feature-set': 1 };
      case 'getLatestBlockhash': {
        const blockhash = base58.encode(randomBytes(32));
        const lastValidBlockHeight = this.blockHeight + 150;
        this.blockhashes.set(blockhash, lastValidBlockHeight);
        return { context: this.context(), value: { blockhash, lastValidBlockHeight } };
      }
      case 'getBalance':
        return { context: this.context(), value: 1_000_000_000 };
      case 'getTokenAccountBalance': {
        const token = this.program.tokens.get(params[0] as string);
        if (!token) throw new RpcError(-32602, 'Invalid param: could not find account');
        const amount = token.amount.toString();
        const decimals = 6;
        const uiAmountString = (Number(token.amount) / 10 ** decimals).toString();
        return {
          context: this.context(),
          value: { amount, decimals, uiAmount: Number(uiAmountString), uiAmountString },
        };
      }
      case 'simulateTransaction': {
        const [encoded, config] = params as [string, { encoding?: string } | undefined];
        const bytes =
          config?.encoding === 'base64'
            ? Buffer.from(encoded, 'base64')
            : Buffer.from(base58.decode(encoded));
        const transaction = VersionedTransaction.deserialize(bytes);
        const result = this.simulate(transaction);
        return {
          context: this.context(),
          value: {
            err: result.err,
            logs: result.logs,
            accounts: null,
            unitsConsumed: result.unitsConsumed,
            returnData: null,
          },
        };
      }
      case 'sendTransaction':
        return this.sendTransaction(params);
      case 'getSignatureStatuses': {
        const signatures = params[0] as string[];
        return {
          context: this.context(),
          value: signatures.map((signature) => {
            const record = this.transactions.get(signature);
            if (!record?.landed) return null;
            return {
              slot: record.slot,
              confirmations: null,
              err: record.err,
              status: record.err === null ? { Ok: null } : { Err: record.err },
              confirmationStatus: 'confirmed',
            };
          }),
        };
      }
      case 'getTransaction': {
        const record = this.transactions.get(params[0] as string);
        return record?.landed ? this.transactionResult(record) : null;
      }
      case 'getSignaturesForAddress': {
        const [address, config] = params as [
          string,
          { limit?: number; until?: string; before?: string } | undefined,
        ];
        const all = (this.signaturesByAddress.get(address) ?? []).filter(
          (signature) => this.transactions.get(signature)?.landed,
        );
        let list = all;
        if (config?.before) {
          const index = list.indexOf(config.before);
          list = index === -1 ? list : list.slice(index + 1);
        }
        if (config?.until) {
          const index = list.indexOf(config.until);
          if (index !== -1) list = list.slice(0, index);
        }
        return list.slice(0, config?.limit ?? 1000).map((signature) => {
          const record = this.transactions.get(signature) as TransactionRecord;
          return {
            signature,
            slot: record.slot,
            err: record.err,
            memo: null,
            blockTime: record.blockTime,
            confirmationStatus: 'confirmed',
          };
        });
      }
      default:
        throw new RpcError(-32601, `Method not found: ${method}`);
    }
  }

  private answer(request: JsonRpcRequest): unknown {
    try {
      return {
        jsonrpc: '2.0',
        id: request.id ?? null,
        result: this.handle(request.method ?? '', request.params ?? []),
      };
    } catch (error) {
      if (error instanceof RpcError)
        return {
          jsonrpc: '2.0',
          id: request.id ?? null,
          error: {
            code: error.code,
            message: error.message,
            ...(error.data === undefined ? {} : { data: error.data }),
          },
        };
      return {
        jsonrpc: '2.0',
        id: request.id ?? null,
        error: { code: -32603, message: error instanceof Error ? error.message : String(error) },
      };
    }
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    if (this.offline) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (this.offline) {
        request.socket.destroy();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        response.writeHead(400).end();
        return;
      }
      // Each HTTP request is a moment later on chain.
      this.slot += 1;
      const answer = Array.isArray(body)
        ? body.map((item) => this.answer(item as JsonRpcRequest))
        : this.answer(body as JsonRpcRequest);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  }
}

/** Starts a fake Drift RPC on 127.0.0.1 (a free port). */
export async function startFakeDriftRpc(options: FakeRpcOptions = {}): Promise<FakeDriftRpc> {
  return new FakeDriftRpc(options).start();
}
