import { describe, expect, it } from 'vitest';
import {
  authTokenMessageHash,
  cancelOrderTxHash,
  createAuthToken,
  createOrderTxHash,
  LighterTxFieldError,
  lighterPrivateKeyFromSeed,
  lighterPublicKey,
  parseAuthToken,
  schnorrVerify,
  signCancelOrder,
  signCreateOrder,
} from '../src/signer/index';
import { hexToBytes } from '../src/signer/schnorr';
import { OFFICIAL_SEED_VECTORS, OFFICIAL_WASM_VECTORS } from './fixtures/official-wasm-vectors';

/** Parses Go's tx_info JSON keeping integers above 2^53 exact. */
function parseTxInfo(txInfo: string): Record<string, unknown> {
  const parsed = JSON.parse(txInfo.replace(/:(\d{16,})([,}])/g, ':"$1"$2')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'string' && /^\d+$/.test(value)) parsed[key] = BigInt(value);
  }
  return parsed;
}

function withoutSignature(txInfo: string): string {
  return txInfo.replace(/"Sig":"[^"]*"/, '"Sig":""');
}

describe('keys (official lighter-go WASM vectors)', () => {
  for (const vector of OFFICIAL_WASM_VECTORS) {
    it(`derives the public key of test key ${vector.privateKey.slice(0, 8)}…`, () => {
      expect(lighterPublicKey(vector.privateKey)).toBe(vector.publicKey);
      expect(lighterPublicKey(`0x${vector.privateKey}`)).toBe(vector.publicKey);
    });
  }

  for (const vector of OFFICIAL_SEED_VECTORS) {
    it(`derives a private key from a ${vector.seed.length / 2}-byte seed as GetScalarFromSeed`, () => {
      const privateKey = lighterPrivateKeyFromSeed(hexToBytes(vector.seed));
      expect(privateKey).toBe(vector.privateKey);
      expect(lighterPublicKey(privateKey)).toBe(vector.publicKey);
    });
  }

  it('refuses short seeds and malformed keys without echoing the key', () => {
    expect(() => lighterPrivateKeyFromSeed(new Uint8Array(31))).toThrow(/at least 32 bytes/);
    const secret = 'ab'.repeat(39);
    let message = '';
    try {
      lighterPublicKey(secret);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/40 bytes/);
    expect(message).not.toContain(secret);
    expect(() => lighterPublicKey('0'.repeat(80))).toThrow(/zero/);
    expect(() => lighterPublicKey('not hex')).toThrow(/hex/);
  });
});

describe('transaction hashes and signatures (official lighter-go WASM vectors)', () => {
  for (const vector of OFFICIAL_WASM_VECTORS) {
    for (const { txInfo, txHash } of vector.createOrders) {
      it(`create order ${txHash.slice(0, 12)}…: same hash, the official signature verifies, our tx_info matches`, () => {
        const tx = parseTxInfo(txInfo) as never;
        expect(createOrderTxHash(tx, vector.chainId)).toBe(txHash);
        const signature = Buffer.from((parseTxInfo(txInfo) as { Sig: string }).Sig, 'base64');
        expect(schnorrVerify(vector.publicKey, txHash, signature)).toBe(true);
        const ours = signCreateOrder(tx, vector.privateKey, vector.chainId);
        expect(ours.txType).toBe(14);
        expect(ours.txHash).toBe(txHash);
        expect(withoutSignature(ours.txInfo)).toBe(withoutSignature(txInfo));
        const ourSignature = Buffer.from((parseTxInfo(ours.txInfo) as { Sig: string }).Sig, 'base64');
        expect(schnorrVerify(vector.publicKey, txHash, ourSignature)).toBe(true);
      });
    }
    for (const { txInfo, txHash } of vector.cancelOrders) {
      it(`cancel order ${txHash.slice(0, 12)}…: same hash, the official signature verifies, our tx_info matches`, () => {
        const tx = parseTxInfo(txInfo) as never;
        expect(cancelOrderTxHash(tx, vector.chainId)).toBe(txHash);
        const signature = Buffer.from((parseTxInfo(txInfo) as { Sig: string }).Sig, 'base64');
        expect(schnorrVerify(vector.publicKey, txHash, signature)).toBe(true);
        const ours = signCancelOrder(tx, vector.privateKey, vector.chainId);
        expect(ours.txType).toBe(15);
        expect(ours.txHash).toBe(txHash);
        expect(withoutSignature(ours.txInfo)).toBe(withoutSignature(txInfo));
      });
    }
    for (const token of vector.authTokens) {
      it(`the official auth token ${token.slice(0, 20)}… verifies; ours has the same shape and verifies`, () => {
        const parsed = parseAuthToken(token);
        expect(parsed).toBeDefined();
        if (!parsed) return;
        expect(schnorrVerify(vector.publicKey, authTokenMessageHash(parsed.message), parsed.signature)).toBe(
          true,
        );
        const ours = createAuthToken(
          { deadline: parsed.deadline, accountIndex: parsed.accountIndex, apiKeyIndex: parsed.apiKeyIndex },
          vector.privateKey,
        );
        const oursParsed = parseAuthToken(ours);
        expect(oursParsed?.message).toBe(parsed.message);
        expect(
          schnorrVerify(vector.publicKey, authTokenMessageHash(parsed.message), oursParsed?.signature ?? ''),
        ).toBe(true);
      });
    }
  }

  const [vector] = OFFICIAL_WASM_VECTORS as [(typeof OFFICIAL_WASM_VECTORS)[number]];
  const base = parseTxInfo((vector.createOrders[0] as { txInfo: string }).txInfo) as Record<string, unknown>;

  it('every hashed field changes the hash; the signature field does not', () => {
    const reference = createOrderTxHash(base as never, vector.chainId);
    for (const field of ['Nonce', 'ExpiredAt', 'ClientOrderIndex', 'BaseAmount', 'Price', 'OrderExpiry']) {
      const changed = { ...base, [field]: BigInt(base[field] as number) + 1n };
      expect(createOrderTxHash(changed as never, vector.chainId), field).not.toBe(reference);
    }
    expect(createOrderTxHash({ ...base, IsAsk: 1n } as never, vector.chainId)).not.toBe(reference);
    expect(createOrderTxHash(base as never, 300)).not.toBe(reference);
    expect(createOrderTxHash({ ...base, Sig: 'x' } as never, vector.chainId)).toBe(reference);
  });

  it('rejects fields the venue would reject, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ Price: 0 }, 'Price'],
      [{ Price: 2 ** 32 }, 'Price'],
      [{ BaseAmount: 0 }, 'BaseAmount'],
      [{ IsAsk: 2 }, 'IsAsk'],
      [{ MarketIndex: 300 }, 'MarketIndex'],
      [{ ApiKeyIndex: 255 }, 'ApiKeyIndex'],
      [{ Nonce: -1 }, 'Nonce'],
      [{ Nonce: 1.5 }, 'Nonce'],
      [{ OrderExpiry: 0 }, 'OrderExpiry'], // a resting limit order needs an expiry
      [{ Type: 1 }, 'TimeInForce'], // a market order must be IOC
      [{ ClientOrderIndex: 2n ** 48n }, 'ClientOrderIndex'],
    ];
    for (const [change, field] of cases) {
      let caught: unknown;
      try {
        createOrderTxHash({ ...base, ...change } as never, vector.chainId);
      } catch (error) {
        caught = error;
      }
      expect(caught, field).toBeInstanceOf(LighterTxFieldError);
      expect((caught as LighterTxFieldError).field).toBe(field);
    }
  });

  it('signCreateOrder emits Go-shaped JSON with integers above 2^53 written exactly', () => {
    const signed = signCreateOrder({ ...base, Nonce: 2n ** 60n } as never, vector.privateKey, vector.chainId);
    expect(signed.txInfo).toContain('"Nonce":1152921504606846976,');
    expect(signed.txInfo).toMatch(/"Sig":"[A-Za-z0-9+/]{107}=","L2TxAttributes":null}$/);
  });

  it('auth tokens: message layout, seconds not milliseconds, and no secret in errors', () => {
    const token = createAuthToken(
      { deadline: 1_700_003_600, accountIndex: 7, apiKeyIndex: 4 },
      vector.privateKey,
    );
    expect(token).toMatch(/^1700003600:7:4:[0-9a-f]{160}$/);
    expect(() =>
      createAuthToken({ deadline: 1_700_003_600_000, accountIndex: 7, apiKeyIndex: 4 }, vector.privateKey),
    ).toThrow(/deadline/);
  });
});
