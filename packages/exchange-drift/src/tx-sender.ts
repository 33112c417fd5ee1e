import { type IWallet, RetryTxSender, type TxSigAndSlot } from '@drift-labs/sdk';
import { ExchangeError } from '@perpkit/core';
import { base58 } from '@scure/base';
import {
  type BlockhashWithExpiryBlockHeight,
  type ConfirmOptions,
  Connection,
  type Keypair,
  MessageV0,
  PublicKey,
  type Signer,
  SystemProgram,
  type Transaction,
  type TransactionError,
  VersionedTransaction,
} from '@solana/web3.js';

/** What became of a transaction: landed fine, landed failed or expired unsent, or not known. */
export type TransactionOutcome = 'confirmed' | 'failed' | 'unknown';

/** A `Connection` that remembers the expiry block height of every blockhash it handed out. */
export class TrackingConnection extends Connection {
  private readonly expiries = new Map<string, number>();

  override async getLatestBlockhash(
    commitmentOrConfig?: Parameters<Connection['getLatestBlockhash']>[0],
  ): Promise<BlockhashWithExpiryBlockHeight> {
    const result = await super.getLatestBlockhash(commitmentOrConfig);
    this.expiries.set(result.blockhash, result.lastValidBlockHeight);
    if (this.expiries.size > 1_000) {
      const oldest = this.expiries.keys().next().value;
      if (oldest !== undefined) this.expiries.delete(oldest);
    }
    return result;
  }

  lastValidBlockHeight(blockhash: string): number | undefined {
    return this.expiries.get(blockhash);
  }
}

/** Decodes Drift program errors (`{ Custom: 6003 }`) into their IDL names. */
export type ProgramErrorNames = (code: number) => string | undefined;

/** A transaction that failed: in simulation, on chain, or by expiring unsent. */
export class TransactionFailedError extends ExchangeError {
  constructor(
    message: string,
    readonly stage: 'simulation' | 'chain' | 'expired' | 'send',
    readonly programError: string | undefined,
    readonly signature: string | undefined,
    readonly logs: readonly string[],
    options: { exchange?: string; retryable?: boolean } = {},
  ) {
    super('TRANSACTION_FAILED', message, {
      retryable: options.retryable ?? stage === 'expired',
      ...(options.exchange === undefined ? {} : { exchange: options.exchange }),
      ...(programError === undefined ? {} : { reason: programError }),
      details: {
        stage,
        ...(programError === undefined ? {} : { programError }),
        ...(signature ? { signature } : {}),
      },
    });
  }
}

/** A transaction whose outcome stayed unknown through confirmation and the status query. */
export class TransactionUnknownError extends ExchangeError {
  constructor(
    readonly signature: string,
    waitedMs: number,
    exchange: string | undefined,
  ) {
    super(
      'EXCHANGE_TIMEOUT',
      `transaction ${signature} was neither confirmed nor failed after ${Math.round(waitedMs / 1000)} s; its outcome is unknown`,
      {
        retryable: false,
        ...(exchange === undefined ? {} : { exchange }),
        reason: 'TRANSACTION_UNKNOWN',
        details: { signature, outcome: 'unknown' },
      },
    );
  }
}

export interface SenderEvents {
  /** A send attempt failed with a transient error and is retried after `delayMs`. */
  onRetry?(event: { transport: string; attempt: number; delayMs: number; error: string }): void;
  /** The transport fell back (Jito → RPC). */
  onFallback?(event: { from: string; to: string; error: string }): void;
  /** The confirmation window passed; the status query starts. */
  onConfirmationTimeout?(event: { signature: string }): void;
  /** Final outcome of every transaction sent. */
  onOutcome?(event: {
    signature: string;
    outcome: TransactionOutcome;
    programError?: string;
    transport: string;
  }): void;
}

/** One way to get a signed transaction to a leader. */
export interface TransactionTransport {
  readonly name: string;
  send(transaction: VersionedTransaction, context: TransportContext): Promise<void>;
}

export interface TransportContext {
  readonly connection: Connection;
  readonly wallet: IWallet;
  readonly retryDelaysMs: readonly number[];
  readonly events: SenderEvents;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A send error that repeating may fix: network failures, overloaded or lagging nodes. A failed
 * preflight, an unknown blockhash or a bad signature are not.
 */
export function isTransientSendError(error: unknown): boolean {
  const message = messageOf(error);
  return !/-32002|simulation failed|preflight|blockhash not found|signature verification/i.test(message);
}

/** The RPC already has this signature: the send did its job. */
function alreadyProcessed(error: unknown): boolean {
  return /already been processed|AlreadyProcessed/i.test(messageOf(error));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withRetries<T>(
  name: string,
  delays: readonly number[],
  events: SenderEvents,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let index = 0; ; index += 1) {
    try {
      return await attempt();
    } catch (error) {
      const delay = delays[index];
      if (delay === undefined || !isTransientSendError(error)) throw error;
      events.onRetry?.({ transport: name, attempt: index + 1, delayMs: delay, error: messageOf(error) });
      await sleep(delay);
    }
  }
}

/** Plain `sendTransaction` to the RPC (preflight already done by the sender), retried on transient errors. */
export class RpcTransport implements TransactionTransport {
  readonly name = 'rpc';

  async send(transaction: VersionedTransaction, context: TransportContext): Promise<void> {
    const raw = transaction.serialize();
    await withRetries(this.name, context.retryDelaysMs, context.events, async () => {
      try {
        await context.connection.sendRawTransaction(raw, { skipPreflight: true, maxRetries: 0 });
      } catch (error) {
        if (!alreadyProcessed(error)) throw error;
      }
    });
  }
}

export interface JitoTransportOptions {
  readonly url: string;
  readonly tipLamports: number;
  readonly tipAccounts?: readonly string[];
  readonly fallbackToRpc: boolean;
  readonly requestTimeoutMs: number;
}

/**
 * Jito bundles: the transaction plus a tip transaction (a transfer to one of the block engine's
 * tip accounts, same blockhash) posted to `<url>/api/v1/bundles`. A refused or unreachable block
 * engine falls back to the RPC when configured; resending the same signed transaction is safe
 * (a signature lands at most once).
 */
export class JitoTransport implements TransactionTransport {
  readonly name = 'jito';
  private tipAccounts: readonly string[] | undefined;
  private readonly fallback = new RpcTransport();
  private requestId = 0;

  constructor(private readonly options: JitoTransportOptions) {
    this.tipAccounts = options.tipAccounts;
  }

  private nextRequestId(): number {
    this.requestId += 1;
    return this.requestId;
  }

  private async call(method: string, params: unknown[]): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.requestTimeoutMs);
    try {
      const response = await fetch(`${this.options.url.replace(/\/$/, '')}/api/v1/bundles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextRequestId(), method, params }),
        signal: controller.signal,
      });
      const body = (await response.json().catch(() => ({}))) as {
        result?: unknown;
        error?: { message?: string };
      };
      if (!response.ok || body.error)
        throw new Error(
          `block engine ${method}: HTTP ${response.status} ${body.error?.message ?? ''}`.trim(),
        );
      return body.result;
    } finally {
      clearTimeout(timer);
    }
  }

  private async tipAccount(): Promise<PublicKey> {
    if (!this.tipAccounts || this.tipAccounts.length === 0) {
      const accounts = await this.call('getTipAccounts', []);
      if (!Array.isArray(accounts) || accounts.length === 0)
        throw new Error('block engine returned no tip accounts');
      this.tipAccounts = accounts.map(String);
    }
    const accounts = this.tipAccounts;
    return new PublicKey(accounts[Math.floor(Math.random() * accounts.length)] as string);
  }

  private async tipTransaction(
    transaction: VersionedTransaction,
    wallet: IWallet,
  ): Promise<VersionedTransaction> {
    const message = MessageV0.compile({
      payerKey: wallet.publicKey,
      recentBlockhash: transaction.message.recentBlockhash,
      instructions: [
        SystemProgram.transfer({
          fromPubkey: wallet.publicKey,
          toPubkey: await this.tipAccount(),
          lamports: this.options.tipLamports,
        }),
      ],
    });
    const tip = new VersionedTransaction(message);
    const payer = (wallet as { payer?: Keypair }).payer;
    if (!payer) throw new Error('a Jito tip needs a keypair wallet');
    tip.sign([payer]);
    return tip;
  }

  async send(transaction: VersionedTransaction, context: TransportContext): Promise<void> {
    try {
      const tip = await this.tipTransaction(transaction, context.wallet);
      await this.call('sendBundle', [
        [transaction, tip].map((item) => Buffer.from(item.serialize()).toString('base64')),
        { encoding: 'base64' },
      ]);
    } catch (error) {
      if (!this.options.fallbackToRpc) throw error;
      context.events.onFallback?.({ from: this.name, to: this.fallback.name, error: messageOf(error) });
      await this.fallback.send(transaction, context);
    }
  }
}

export interface DriftTransactionSenderOptions {
  readonly connection: TrackingConnection;
  readonly wallet: IWallet;
  readonly transport: TransactionTransport;
  readonly commitment: 'processed' | 'confirmed' | 'finalized';
  readonly confirmTimeoutMs: number;
  readonly statusQueryMs: number;
  readonly statusPollMs: number;
  readonly retryDelaysMs: readonly number[];
  readonly programErrorName: ProgramErrorNames;
  readonly exchangeId?: string;
  readonly events?: SenderEvents;
}

/** The Drift program error named in simulation or transaction logs. */
export function programErrorFromLogs(logs: readonly string[] | null | undefined): string | undefined {
  for (const line of logs ?? []) {
    const match = /Error Code: (\w+)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

function customCode(err: TransactionError | null | undefined): number | undefined {
  const instructionError = (err as { InstructionError?: [number, unknown] } | null)?.InstructionError;
  const detail = instructionError?.[1] as { Custom?: number } | undefined;
  return typeof detail?.Custom === 'number' ? detail.Custom : undefined;
}

/**
 * The SDK's `TxSender` for every Drift transaction the adapter sends: simulate first (a failing
 * simulation sends nothing), send through the configured transport (RPC retries at 1 s, 2 s, 4 s
 * by default), confirm by polling signature statuses for `confirmTimeoutMs`, then keep querying
 * the status for `statusQueryMs`: confirmed, failed (landed with an error, or its blockhash
 * expired unsent) or unknown (`TransactionUnknownError`).
 */
export class DriftTransactionSender extends RetryTxSender {
  private readonly settings: DriftTransactionSenderOptions;

  constructor(options: DriftTransactionSenderOptions) {
    super({
      connection: options.connection,
      wallet: options.wallet,
      opts: { commitment: options.commitment, preflightCommitment: options.commitment, skipPreflight: true },
      timeout: options.confirmTimeoutMs,
    });
    this.settings = options;
  }

  private get events(): SenderEvents {
    return this.settings.events ?? {};
  }

  override async send(
    tx: Transaction,
    additionalSigners?: Array<Signer>,
    opts?: ConfirmOptions,
    preSigned?: boolean,
  ): Promise<TxSigAndSlot> {
    const signed = await this.prepareTx(tx, additionalSigners ?? [], opts ?? this.opts, preSigned);
    return this.sendRawTransaction(signed.serialize());
  }

  override async sendRawTransaction(rawTransaction: Buffer | Uint8Array): Promise<TxSigAndSlot> {
    return this.sendSigned(VersionedTransaction.deserialize(rawTransaction));
  }

  /** Simulate, send, confirm. Resolves on confirmation; rejects with the failure or the unknown outcome. */
  async sendSigned(transaction: VersionedTransaction): Promise<TxSigAndSlot> {
    const signature = base58.encode(transaction.signatures[0] ?? new Uint8Array(64));
    const exchange = this.settings.exchangeId;
    const transportName = this.settings.transport.name;
    const simulation = await withRetries('simulate', this.settings.retryDelaysMs, this.events, () =>
      this.connection.simulateTransaction(transaction, {
        sigVerify: false,
        commitment: this.settings.commitment,
      }),
    );
    if (simulation.value.err !== null) {
      const programError =
        programErrorFromLogs(simulation.value.logs) ??
        this.errorName(customCode(simulation.value.err as TransactionError));
      throw new TransactionFailedError(
        `simulation failed: ${programError ?? JSON.stringify(simulation.value.err)}; nothing was sent`,
        'simulation',
        programError,
        undefined,
        simulation.value.logs ?? [],
        exchange === undefined ? {} : { exchange },
      );
    }
    try {
      await this.settings.transport.send(transaction, {
        connection: this.connection,
        wallet: this.wallet,
        retryDelaysMs: this.settings.retryDelaysMs,
        events: this.events,
      });
    } catch (error) {
      // Every attempt failed before any node accepted it: nothing can land.
      throw new TransactionFailedError(
        `could not send transaction ${signature}: ${messageOf(error)}`,
        'send',
        undefined,
        signature,
        [],
        { ...(exchange === undefined ? {} : { exchange }), retryable: true },
      );
    }
    const result = await this.confirm(transaction, signature);
    this.events.onOutcome?.({
      signature,
      outcome: 'confirmed',
      transport: transportName,
    });
    return result;
  }

  private errorName(code: number | undefined): string | undefined {
    return code === undefined ? undefined : (this.settings.programErrorName(code) ?? `Custom(${code})`);
  }

  private async status(
    signature: string,
  ): Promise<{ slot: number; err: TransactionError | null } | null | undefined> {
    try {
      const response = await this.connection.getSignatureStatuses([signature], {
        searchTransactionHistory: true,
      });
      const value = response.value[0];
      if (!value?.confirmationStatus) return null;
      if (this.settings.commitment === 'finalized' && value.confirmationStatus !== 'finalized') return null;
      return { slot: value.slot, err: value.err };
    } catch {
      return undefined; // the RPC did not answer: the status is simply not known yet
    }
  }

  private async expired(transaction: VersionedTransaction): Promise<boolean> {
    const lastValid = (this.connection as TrackingConnection).lastValidBlockHeight(
      transaction.message.recentBlockhash,
    );
    if (lastValid === undefined) return false;
    try {
      return (await this.connection.getBlockHeight(this.settings.commitment)) > lastValid;
    } catch {
      return false;
    }
  }

  private async landedFailure(signature: string, err: TransactionError): Promise<never> {
    const transportName = this.settings.transport.name;
    let logs: string[] = [];
    try {
      const transaction = await this.connection.getTransaction(signature, {
        commitment: this.settings.commitment === 'finalized' ? 'finalized' : 'confirmed',
        maxSupportedTransactionVersion: 0,
      });
      logs = transaction?.meta?.logMessages ?? [];
    } catch {}
    const programError = programErrorFromLogs(logs) ?? this.errorName(customCode(err));
    this.events.onOutcome?.({
      signature,
      outcome: 'failed',
      transport: transportName,
      ...(programError === undefined ? {} : { programError }),
    });
    throw new TransactionFailedError(
      `transaction ${signature} failed on chain: ${programError ?? JSON.stringify(err)}`,
      'chain',
      programError,
      signature,
      logs,
      this.settings.exchangeId === undefined ? {} : { exchange: this.settings.exchangeId },
    );
  }

  private async confirm(transaction: VersionedTransaction, signature: string): Promise<TxSigAndSlot> {
    const started = Date.now();
    const confirmDeadline = started + this.settings.confirmTimeoutMs;
    const statusDeadline = confirmDeadline + this.settings.statusQueryMs;
    let timedOut = false;
    for (;;) {
      const status = await this.status(signature);
      if (status) {
        if (status.err !== null) return this.landedFailure(signature, status.err);
        return { txSig: signature, slot: status.slot };
      }
      const now = Date.now();
      if (!timedOut && now >= confirmDeadline) {
        timedOut = true;
        this.timeoutCount += 1;
        this.events.onConfirmationTimeout?.({ signature });
      }
      if (timedOut && status === null && (await this.expired(transaction))) {
        this.events.onOutcome?.({
          signature,
          outcome: 'failed',
          transport: this.settings.transport.name,
          programError: 'BlockhashExpired',
        });
        throw new TransactionFailedError(
          `transaction ${signature} expired unconfirmed (its blockhash is no longer valid): it never landed`,
          'expired',
          'BlockhashExpired',
          signature,
          [],
          this.settings.exchangeId === undefined ? {} : { exchange: this.settings.exchangeId },
        );
      }
      if (now >= statusDeadline) {
        this.events.onOutcome?.({ signature, outcome: 'unknown', transport: this.settings.transport.name });
        throw new TransactionUnknownError(signature, now - started, this.settings.exchangeId);
      }
      await sleep(Math.min(this.settings.statusPollMs, Math.max(1, statusDeadline - now)));
    }
  }

  /** Looks a signature up once: what the status query would conclude right now. */
  async outcomeOf(signature: string): Promise<TransactionOutcome> {
    const status = await this.status(signature);
    if (!status) return 'unknown';
    return status.err === null ? 'confirmed' : 'failed';
  }
}
