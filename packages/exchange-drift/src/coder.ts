import { createHash } from 'node:crypto';
import type { Program } from '@coral-xyz/anchor';
import { BulkAccountLoader, DriftClient, Wallet } from '@drift-labs/sdk';
import { Connection, Keypair } from '@solana/web3.js';

interface Layout {
  encode(value: unknown, buffer: Buffer, offset?: number): number;
  decode(buffer: Buffer, offset?: number): unknown;
}

/** What the fake needs of Anchor's coder beyond its public API (exact sizes and event layouts). */
interface CoderInternals {
  accounts: {
    accountLayouts: Map<string, Layout>;
    size(idlAccount: unknown): number;
    decodeUnchecked<T>(name: string, data: Buffer): T;
  };
  events: { layouts: Map<string, Layout> };
}

function discriminator(namespace: 'account' | 'event', name: string): Buffer {
  return createHash('sha256').update(`${namespace}:${name}`).digest().subarray(0, 8);
}

/**
 * Drift's own Anchor program object (IDL and coders), from a DriftClient that never touches the
 * network. The fake builds every account and event with it, so the bytes are what the SDK decodes.
 */
export class DriftCoder {
  readonly program: Program;
  private readonly internals: CoderInternals;
  private readonly sizes = new Map<string, number>();

  constructor() {
    const connection = new Connection('http://127.0.0.1:9');
    const client = new DriftClient({
      connection,
      wallet: new Wallet(Keypair.generate()),
      env: 'mainnet-beta',
      accountSubscription: {
        type: 'polling',
        accountLoader: new BulkAccountLoader(connection, 'confirmed', 0),
      },
      skipLoadUsers: true,
    });
    this.program = client.program;
    this.internals = client.program.coder as unknown as CoderInternals;
  }

  /** Size in bytes of an account type, discriminator included. */
  size(name: string): number {
    let size = this.sizes.get(name);
    if (size === undefined) {
      const idlAccount = this.program.idl.accounts?.find((account) => account.name === name);
      if (!idlAccount) throw new Error(`the Drift IDL has no account ${name}`);
      size = this.internals.accounts.size(idlAccount);
      this.sizes.set(name, size);
    }
    return size;
  }

  /** Encodes an account at its exact on-chain size (Anchor 0.29's `encode` assumes ≤ 1000 bytes). */
  encodeAccount(name: string, value: unknown): Buffer {
    const layout = this.internals.accounts.accountLayouts.get(name);
    if (!layout) throw new Error(`the Drift IDL has no account ${name}`);
    const body = Buffer.alloc(this.size(name) - 8);
    layout.encode(value, body);
    return Buffer.concat([discriminator('account', name), body]);
  }

  decodeAccount<T>(name: string, data: Buffer): T {
    return this.internals.accounts.decodeUnchecked<T>(name, data);
  }

  /** An account of the given type with every field zero (enums at their first variant). */
  zeroAccount<T>(name: string): T {
    return this.decodeAccount<T>(
      name,
      Buffer.concat([discriminator('account', name), Buffer.alloc(this.size(name) - 8)]),
    );
  }

  /** A `Program data:` log line carrying an event, as the program's `emit!` writes it. */
  eventLog(name: string, value: unknown): string {
    const layout = this.internals.events.layouts.get(name);
    if (!layout) throw new Error(`the Drift IDL has no event ${name}`);
    const body = Buffer.alloc(4096);
    const length = layout.encode(value, body);
    return `Program data: ${Buffer.concat([discriminator('event', name), body.subarray(0, length)]).toString('base64')}`;
  }

  /** Decodes an instruction of the Drift program: its IDL name, arguments and account names. */
  decodeInstruction(
    data: Buffer,
  ): { name: string; data: Record<string, unknown>; accounts: string[] } | undefined {
    const coder = this.program.coder.instruction as unknown as {
      decode(
        data: Buffer,
        encoding: 'hex' | 'base58',
      ): { name: string; data: Record<string, unknown> } | null;
    };
    const decoded = coder.decode(data, 'hex');
    if (!decoded) return undefined;
    const idl = this.program.idl.instructions.find((instruction) => instruction.name === decoded.name);
    return { ...decoded, accounts: (idl?.accounts ?? []).map((account) => account.name) };
  }

  /** The program error of a code name (`InsufficientCollateral` → 6003). */
  errorCode(name: string): number {
    const error = this.program.idl.errors?.find((candidate) => candidate.name === name);
    if (!error) throw new Error(`the Drift IDL has no error ${name}`);
    return error.code;
  }
}
