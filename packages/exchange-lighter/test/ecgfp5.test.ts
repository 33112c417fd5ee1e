// Vectors from elliottech/poseidon_crypto @ 315971c5, curve/ecgfp5/curve_test.go
// (testVectors, TestBasicOps, TestScalarMul, TestEncode).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURVE_ORDER,
  type CurvePoint,
  decodePoint,
  encodePoint,
  GENERATOR,
  generatorMultiply,
  NEUTRAL,
  pointAdd,
  pointDouble,
  pointEquals,
  pointMultiply,
} from '../src/signer/ecgfp5';
import {
  FP5_ONE,
  type Fp5,
  fp5,
  fp5Equals,
  fp5InverseOrZero,
  fp5Multiply,
  fp5Square,
  fp5SquareRoot,
} from '../src/signer/gfp5';
import { GOLDILOCKS_PRIME, squareRoot } from '../src/signer/goldilocks';

const element = (values: readonly bigint[]): Fp5 =>
  fp5(...(values as [bigint, bigint, bigint, bigint, bigint]));

// P0 neutral, P1 random, P2 = e·P1, P3 = P1 + P2, P4 = 2·P1, P5 = 2·P2, P6 = 2·P1 + P2, P7 = P1 + 2·P2.
const W = [
  [0n, 0n, 0n, 0n, 0n],
  [
    12539254003028696409n,
    15524144070600887654n,
    15092036948424041984n,
    11398871370327264211n,
    10958391180505708567n,
  ],
  [
    11001943240060308920n,
    17075173755187928434n,
    3940989555384655766n,
    15017795574860011099n,
    5548543797011402287n,
  ],
  [
    246872606398642312n,
    4900963247917836450n,
    7327006728177203977n,
    13945036888436667069n,
    3062018119121328861n,
  ],
  [
    8058035104653144162n,
    16041715455419993830n,
    7448530016070824199n,
    11253639182222911208n,
    6228757819849640866n,
  ],
  [
    10523134687509281194n,
    11148711503117769087n,
    9056499921957594891n,
    13016664454465495026n,
    16494247923890248266n,
  ],
  [
    12173306542237620n,
    6587231965341539782n,
    17027985748515888117n,
    17194831817613584995n,
    10056734072351459010n,
  ],
  [
    9420857400785992333n,
    4695934009314206363n,
    14471922162341187302n,
    13395190104221781928n,
    16359223219913018041n,
  ],
].map(element);

const NOT_ENCODINGS = [
  [
    13557832913345268708n,
    15669280705791538619n,
    8534654657267986396n,
    12533218303838131749n,
    5058070698878426028n,
  ],
  [
    135036726621282077n,
    17283229938160287622n,
    13113167081889323961n,
    1653240450380825271n,
    520025869628727862n,
  ],
  [
    6727960962624180771n,
    17240764188796091916n,
    3954717247028503753n,
    1002781561619501488n,
    4295357288570643789n,
  ],
  [
    4578929270179684956n,
    3866930513245945042n,
    7662265318638150701n,
    9503686272550423634n,
    12241691520798116285n,
  ],
  [
    16890297404904119082n,
    6169724643582733633n,
    9725973298012340311n,
    5977049210035183790n,
    11379332130141664883n,
  ],
  [
    13777379982711219130n,
    14715168412651470168n,
    17942199593791635585n,
    6188824164976547520n,
    15461469634034461986n,
  ],
].map(element);

function decoded(index: number): CurvePoint {
  const point = decodePoint(W[index] as Fp5);
  if (!point) throw new Error(`w${index} must decode`);
  return point;
}

const fieldElement = fc.bigInt({ min: 0n, max: GOLDILOCKS_PRIME - 1n });
const fp5Element = fc.tuple(
  fieldElement,
  fieldElement,
  fieldElement,
  fieldElement,
  fieldElement,
) as fc.Arbitrary<Fp5>;

describe('GF(p^5)', () => {
  it('inverse: a · a⁻¹ = 1 for non-zero a', () => {
    fc.assert(
      fc.property(fp5Element, (a) => {
        fc.pre(a.some((limb) => limb !== 0n));
        expect(fp5Multiply(a, fp5InverseOrZero(a))).toEqual(FP5_ONE);
      }),
      { numRuns: 50 },
    );
  });

  it('square root: the root of a square squares back to it', () => {
    fc.assert(
      fc.property(fp5Element, (a) => {
        const root = fp5SquareRoot(fp5Square(a));
        expect(root).toBeDefined();
        expect(fp5Square(root as Fp5)).toEqual(fp5Square(a));
      }),
      { numRuns: 30 },
    );
  });

  it('square root in GF(p): Tonelli–Shanks', () => {
    fc.assert(
      fc.property(fieldElement, (a) => {
        const square = (a * a) % GOLDILOCKS_PRIME;
        const root = squareRoot(square) as bigint;
        expect((root * root) % GOLDILOCKS_PRIME).toBe(square);
      }),
    );
    expect(squareRoot(7n)).toBeUndefined(); // 7 generates the group: not a square
  });
});

describe('ECgFp5 (official poseidon_crypto vectors)', () => {
  it('decodes and re-encodes every test point; rejects the six non-encodings', () => {
    W.forEach((w, index) => {
      expect(fp5Equals(encodePoint(decoded(index)), w)).toBe(true);
    });
    for (const w of NOT_ENCODINGS) expect(decodePoint(w)).toBeUndefined();
  });

  it('adds and doubles: P1+P2, P1+P1, 2·P2, 2·P1+P2, P1+P2+P2, and the neutral', () => {
    const [p0, p1, p2] = [decoded(0), decoded(1), decoded(2)];
    expect(fp5Equals(encodePoint(pointAdd(p1, p2)), W[3] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointAdd(p1, p1)), W[4] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointDouble(p2)), W[5] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointAdd(pointDouble(p1), p2)), W[6] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointAdd(pointAdd(p1, p2), p2)), W[7] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointDouble(p0)), W[0] as Fp5)).toBe(true);
    expect(fp5Equals(encodePoint(pointAdd(p0, p1)), W[1] as Fp5)).toBe(true);
    expect(pointEquals(p0, NEUTRAL)).toBe(true);
    expect(pointEquals(p1, p2)).toBe(false);
  });

  it('TestScalarMul: a fixed point times a fixed scalar', () => {
    const point: CurvePoint = {
      x: element([
        16818074783491816710n,
        5830279414330569119n,
        3449083115922675783n,
        1268145320872323641n,
        12614816166275380125n,
      ]),
      z: FP5_ONE,
      u: FP5_ONE,
      t: element([
        7534507442095725921n,
        16658460051907528927n,
        12417574136563175256n,
        2750788641759288856n,
        620002843272906439n,
      ]),
    };
    const expected: CurvePoint = {
      x: element([
        16885333682092300432n,
        5595343485914691669n,
        13188593663496831978n,
        10414629856394645794n,
        5668658507670629815n,
      ]),
      z: FP5_ONE,
      u: FP5_ONE,
      t: element([
        9486104512504676657n,
        14312981644741144668n,
        5159846406177847664n,
        15978863787033795628n,
        3249948839313771192n,
      ]),
    };
    const scalar =
      996458928865875995n +
      (7368213710557165165n << 64n) +
      (8553572641065079816n << 128n) +
      (15282443801767955752n << 192n) +
      (251150557732720826n << 256n);
    expect(pointEquals(pointMultiply(point, scalar), expected)).toBe(true);
  });

  it('TestEncode: a projective point encodes to w = t/u', () => {
    const point: CurvePoint = {
      x: element([
        8219099146870311261n,
        1751466925979295147n,
        7427996218561204331n,
        5499363376829590386n,
        17146362437196146248n,
      ]),
      z: element([
        9697849239028047855n,
        5846309906783017685n,
        10545493423738651463n,
        2054382452661947581n,
        7470471124463677860n,
      ]),
      u: element([
        2901139745109740356n,
        15850005224840060392n,
        3464972059371886732n,
        15264046134718393739n,
        9208307769190416697n,
      ]),
      t: element([
        4691886900801030369n,
        14793814721360336872n,
        14452533794393275351n,
        3652664841353278369n,
        4894903405053011144n,
      ]),
    };
    expect(encodePoint(point)).toEqual([
      11698180777452980608n,
      17225201015770513568n,
      2048901991804183462n,
      12372738397545947475n,
      13773458998102781339n,
    ]);
  });

  it('the fixed-base generator table agrees with the generic window multiplication', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: CURVE_ORDER - 1n }), (scalar) => {
        expect(pointEquals(generatorMultiply(scalar), pointMultiply(GENERATOR, scalar))).toBe(true);
      }),
      { numRuns: 5 },
    );
    expect(pointEquals(generatorMultiply(CURVE_ORDER), NEUTRAL)).toBe(true);
    expect(pointEquals(generatorMultiply(CURVE_ORDER - 1n), pointMultiply(GENERATOR, -1n))).toBe(true);
  });
});
