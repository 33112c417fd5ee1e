import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base58 } from '@scure/base';
import { Keypair, SystemProgram, VersionedTransaction } from '@solana/web3.js';
import type { FakeDriftRpc } from './server';

/**
 * A loopback stand-in for a Jito block engine: `getTipAccounts` and `sendBundle` on
 * `/api/v1/bundles` (JSON-RPC). A bundle must pay a tip to one of its tip accounts; its
 * transactions are handed to the fake RPC, which lands them. Tests can make it refuse bundles.
 */
export class FakeJitoBlockEngine {
  /** Tip accounts the engine announces (fresh keys: a stand-in never names real accounts). */
  readonly tipAccounts = Array.from({ length: 8 }, () => Keypair.generate().publicKey.toBase58());
  /** Bundles received: their transaction signatures and the tip paid. */
  readonly bundles: { signatures: string[]; tipLamports: bigint }[] = [];
  private server: Server | undefined;
  private port = 0;
  private failures = 0;

  constructor(private readonly rpc: FakeDriftRpc) {}

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
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `count` bundles are refused (HTTP 503, as when the engine is congested). */
  refuseNextBundles(count: number): void {
    this.failures += count;
  }

  private tipOf(transaction: VersionedTransaction): bigint {
    const message = transaction.message;
    let tip = 0n;
    for (const instruction of message.compiledInstructions) {
      const program = message.staticAccountKeys[instruction.programIdIndex];
      if (!program?.equals(SystemProgram.programId)) continue;
      const data = Buffer.from(instruction.data);
      // SystemInstruction::Transfer = 2, then lamports as u64 LE.
      if (data.length < 12 || data.readUInt32LE(0) !== 2) continue;
      const destination = message.staticAccountKeys[instruction.accountKeyIndexes[1] ?? -1]?.toBase58();
      if (destination && this.tipAccounts.includes(destination)) tip += data.readBigUInt64LE(4);
    }
    return tip;
  }

  private handle(method: string, params: unknown[]): unknown {
    if (method === 'getTipAccounts') return this.tipAccounts;
    if (method !== 'sendBundle') throw new Error(`Method not found: ${method}`);
    const [encoded, config] = params as [string[], { encoding?: string } | undefined];
    const transactions = encoded.map((item) =>
      VersionedTransaction.deserialize(
        config?.encoding === 'base64' ? Buffer.from(item, 'base64') : base58.decode(item),
      ),
    );
    if (transactions.length === 0 || transactions.length > 5)
      throw new Error('a bundle holds 1 to 5 transactions');
    const tipLamports = transactions.reduce((sum, transaction) => sum + this.tipOf(transaction), 0n);
    if (tipLamports < 1000n)
      throw new Error('bundle must write lock at least one tip account (minimum 1000 lamports)');
    const signatures = transactions.map((transaction) =>
      this.rpc.acceptBundleTransaction(Buffer.from(transaction.serialize())),
    );
    this.bundles.push({ signatures, tipLamports });
    return createHash('sha256').update(signatures.join(',')).digest('hex');
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== '/api/v1/bundles') {
        response.writeHead(404).end();
        return;
      }
      let body: { id?: unknown; method?: string; params?: unknown[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        response.writeHead(400).end();
        return;
      }
      if (body.method === 'sendBundle' && this.failures > 0) {
        this.failures -= 1;
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: body.id ?? null,
            error: { code: -32097, message: 'congested' },
          }),
        );
        return;
      }
      let answer: unknown;
      try {
        answer = {
          jsonrpc: '2.0',
          id: body.id ?? null,
          result: this.handle(body.method ?? '', body.params ?? []),
        };
      } catch (error) {
        answer = {
          jsonrpc: '2.0',
          id: body.id ?? null,
          error: { code: -32602, message: error instanceof Error ? error.message : String(error) },
        };
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  }
}
