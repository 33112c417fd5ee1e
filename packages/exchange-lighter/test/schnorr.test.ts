// Fixed-nonce vectors: elliottech/poseidon_crypto @ 315971c5,
// signature/schnorr/schnorr_test.go (TestComparativeSchnorrSignAndVerify).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CURVE_ORDER } from '../src/signer/ecgfp5';
import { limbsToBytes } from '../src/signer/gfp5';
import { lighterPublicKey } from '../src/signer/keys';
import {
  bigintToLimbs,
  bytesToHex,
  limbsToBigint,
  schnorrSign,
  schnorrSignWithNonce,
  schnorrVerify,
  signatureToBytes,
} from '../src/signer/schnorr';

const VECTORS = [
  {
    secretKey: [
      12235002942052073545n,
      1175977464658719998n,
      8536934969147463310n,
      6524687619313720391n,
      2922072024880609112n,
    ],
    messageHash: [
      8398652514106806347n,
      11069112711939986896n,
      9732488227085561369n,
      18076754337204438535n,
      17155407358725346236n,
    ],
    k: [
      5245666847777449560n,
      15178169970799106939n,
      4403065012435293749n,
      15306540389399388999n,
      8935555081913173844n,
    ],
    s: [
      6950590877883398434n,
      17178336263794770543n,
      11012823478139181320n,
      16445091359523510936n,
      5882925226143600273n,
    ],
    e: [
      4544744459434870309n,
      4180764085957612004n,
      3024669018778978615n,
      15433417688859446606n,
      6775027260348937828n,
    ],
  },
  {
    secretKey: [
      14609471659974493146n,
      15558617123161593410n,
      853367204868339037n,
      17594253198278631904n,
      368396584122947478n,
    ],
    messageHash: [
      14569490467507212064n,
      2707063505563578676n,
      7506743487465742335n,
      12569771346154554175n,
      4305083698940175790n,
    ],
    k: [
      1980123857560067020n,
      10696795398834097509n,
      3211831869376171671n,
      6194822139276031840n,
      3482023782412490864n,
    ],
    s: [
      15189311883262425203n,
      16924634885527914505n,
      11098200095411565797n,
      11441434601417451505n,
      2245797172600273048n,
    ],
    e: [
      4905460437060282008n,
      9275377852059362729n,
      10383772785796962929n,
      6858067464918579610n,
      7078247668913970626n,
    ],
  },
  {
    secretKey: [
      846395111423676945n,
      1354180063821346280n,
      5751371120309175011n,
      4898038106472090654n,
      1076345918732914302n,
    ],
    messageHash: [
      17529153479246803593n,
      1743712677205511695n,
      4834285972617397460n,
      5486672566342530358n,
      7254989001695704129n,
    ],
    k: [
      10299597990997564957n,
      8547298489021408803n,
      12250978550108858722n,
      5282281975236198197n,
      5328603554431393061n,
    ],
    s: [
      1747989245728027396n,
      18083435619737379521n,
      18276259610811995786n,
      15101757397705334408n,
      5007814817019340642n,
    ],
    e: [
      4911725746357568132n,
      12205663641120664338n,
      16433506899074513700n,
      14763562571101437023n,
      2547950465160283358n,
    ],
  },
];

const keyHex = (limbs: readonly bigint[]) => bytesToHex(limbsToBytes(limbs));

describe('Schnorr over ECgFp5', () => {
  VECTORS.forEach((vector, index) => {
    it(`reproduces the official fixed-nonce signature ${index + 1} exactly, and it verifies`, () => {
      const signature = schnorrSignWithNonce(vector.messageHash, vector.secretKey, vector.k);
      expect(signature.s).toEqual(vector.s);
      expect(signature.e).toEqual(vector.e);
      const publicKey = lighterPublicKey(keyHex(vector.secretKey));
      expect(schnorrVerify(publicKey, vector.messageHash, signatureToBytes(signature))).toBe(true);
    });
  });

  const [first] = VECTORS as [(typeof VECTORS)[number]];
  const publicKey = lighterPublicKey(keyHex(first.secretKey));

  it('signs with a fresh nonce each time: signatures differ and all verify', () => {
    const one = schnorrSign(first.messageHash, first.secretKey);
    const two = schnorrSign(first.messageHash, first.secretKey);
    expect(one.s).not.toEqual(two.s);
    expect(schnorrVerify(publicKey, first.messageHash, signatureToBytes(one))).toBe(true);
    expect(schnorrVerify(publicKey, first.messageHash, signatureToBytes(two))).toBe(true);
  });

  it('rejects a tampered signature, another message, another key, and malformed input', () => {
    const signature = signatureToBytes(schnorrSignWithNonce(first.messageHash, first.secretKey, first.k));
    const flipped = Uint8Array.from(signature);
    flipped[7] = (flipped[7] as number) ^ 1;
    expect(schnorrVerify(publicKey, first.messageHash, flipped)).toBe(false);
    const otherMessage = [...first.messageHash];
    otherMessage[0] = (otherMessage[0] as bigint) + 1n;
    expect(schnorrVerify(publicKey, otherMessage, signature)).toBe(false);
    const otherKey = lighterPublicKey(keyHex((VECTORS[1] as (typeof VECTORS)[number]).secretKey));
    expect(schnorrVerify(otherKey, first.messageHash, signature)).toBe(false);
    expect(schnorrVerify('zz', first.messageHash, signature)).toBe(false);
    expect(schnorrVerify(publicKey, first.messageHash, signature.subarray(0, 79))).toBe(false);
    // A 40-byte value that is no point encoding (poseidon_crypto's first "bad" vector).
    const notAPoint = bytesToHex(
      limbsToBytes([
        13557832913345268708n,
        15669280705791538619n,
        8534654657267986396n,
        12533218303838131749n,
        5058070698878426028n,
      ]),
    );
    expect(schnorrVerify(notAPoint, first.messageHash, signature)).toBe(false);
  });

  it('reads s and e modulo n, as the venue does (s + n still verifies)', () => {
    const signature = schnorrSignWithNonce(first.messageHash, first.secretKey, first.k);
    const shifted = limbsToBigint(signature.s) + CURVE_ORDER;
    expect(shifted < 1n << 320n).toBe(true);
    const bytes = signatureToBytes({ s: bigintToLimbs(shifted), e: signature.e });
    expect(schnorrVerify(publicKey, first.messageHash, bytes)).toBe(true);
  });

  it('property: any key signs any message verifiably', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: CURVE_ORDER - 1n }),
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 5, maxLength: 5 }),
        (secret, hash) => {
          const limbs = bigintToLimbs(secret);
          const signature = signatureToBytes(schnorrSign(hash, limbs));
          expect(schnorrVerify(lighterPublicKey(keyHex(limbs)), hash, signature)).toBe(true);
        },
      ),
      { numRuns: 4 },
    );
  });

  it('rejects limbs that are not 5 × u64', () => {
    expect(() => schnorrSignWithNonce([1n], first.secretKey, first.k)).toThrow(/5 limbs/);
    expect(() =>
      schnorrSignWithNonce(first.messageHash, [...first.secretKey.slice(0, 4), 1n << 64n], first.k),
    ).toThrow(/privateKeyLimbs\[4\]/);
  });
});
