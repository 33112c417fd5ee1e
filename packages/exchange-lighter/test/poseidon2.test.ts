// Vectors from elliottech/poseidon_crypto @ 315971c5,
// hash/poseidon2_goldilocks_plonky2/poseidon2_test.go (TestPermute, TestHashNToMNoPad, ...).
import { describe, expect, it } from 'vitest';
import { FROBENIUS_ROOT } from '../src/signer/gfp5';
import { bytesToGoldilocks, GOLDILOCKS_PRIME } from '../src/signer/goldilocks';
import { hashNoPad, hashNToMNoPad, hashToQuinticExtension, poseidon2Permute } from '../src/signer/poseidon2';

const U64_MAX = (1n << 64n) - 1n;

describe('Poseidon2 over Goldilocks (official poseidon_crypto vectors)', () => {
  it('TestPermute: the 12-element permutation', () => {
    const input = [
      5417613058500526590n,
      2481548824842427254n,
      6473243198879784792n,
      1720313757066167274n,
      2806320291675974571n,
      7407976414706455446n,
      1105257841424046885n,
      7613435757403328049n,
      3376066686066811538n,
      5888575799323675710n,
      6689309723188675948n,
      2468250420241012720n,
    ];
    expect(poseidon2Permute(input)).toEqual([
      5364184781011389007n,
      15309475861242939136n,
      5983386513087443499n,
      886942118604446276n,
      14903657885227062600n,
      7742650891575941298n,
      1962182278500985790n,
      10213480816595178755n,
      3510799061817443836n,
      4610029967627506430n,
      7566382334276534836n,
      2288460879362380348n,
    ]);
    // The input is not mutated.
    expect(input[0]).toBe(5417613058500526590n);
  });

  it('TestHashNToMNoPad: 12 inputs squeezed to 12 outputs (two squeezes)', () => {
    const input = [
      2963773914414780088n,
      8389525300242074234n,
      3700959901615818008n,
      6116199383751757212n,
      3418607418699599889n,
      8793277256263635044n,
      448623437464918480n,
      1857310021116627925n,
      6145634616307237342n,
      1548353948794474539n,
      2318110128254703527n,
      8347759953730634762n,
    ];
    expect(hashNToMNoPad(input, 12)).toEqual([
      3627923032009111551n,
      1460752551327577353n,
      1084214837491058067n,
      1841622875286057462n,
      3996252440506437984n,
      1276718204392552803n,
      8564515621134952155n,
      9252927025993202701n,
      1147435538714642916n,
      16407277821156164797n,
      11997661877740155273n,
      12485021000320141292n,
    ]);
  });

  it('TestHashNToHashNoPad: 12 inputs to a 4-element digest', () => {
    expect(
      hashNoPad([
        11295517158488612626n,
        10669470463693797151n,
        17232114065640264171n,
        4175927072186299193n,
        13985285184240204531n,
        7901017084268693144n,
        4326299618263946178n,
        14787024750292535041n,
        894520636503353046n,
        12556655399058578835n,
        3097737892474696200n,
        7515335668060050861n,
      ]),
    ).toEqual([15396602476382546759n, 12422280135166335470n, 8165681190607828974n, 3475588160239961712n]);
  });

  it('TestHashNToHashNoPadLarge: u64 inputs at or above p are taken mod p', () => {
    const p = GOLDILOCKS_PRIME;
    expect(hashNoPad([p + 1n, p + 2n, p + 3n, U64_MAX, U64_MAX - 1n])).toEqual([
      14216040864787980138n,
      17275303675000904868n,
      11831395338463193314n,
      281267649235863375n,
    ]);
  });

  it('TestHashTwoToOne: two digests to one', () => {
    expect(
      hashNoPad([
        3777312593917610528n,
        6858608920877200812n,
        5269611035257552853n,
        10607733449481270434n,
        10355703322562521155n,
        1039917189921776884n,
        10844249567941924238n,
        14291130953945924124n,
      ]),
    ).toEqual([1453933811752520343n, 16186418140372484281n, 9207215809524681813n, 10182182911172027974n]);
  });

  it('TestHashNToOne: a chain of twelve two-to-one hashes', () => {
    const two = (left: bigint[], right: bigint[]) => hashNoPad([...left, ...right]);
    const digests = [
      hashNoPad([
        18231458557829081414n,
        16449039301999856654n,
        14758090268883299362n,
        10271725147130672875n,
        6253304685402495037n,
        16079709420464120062n,
        10838593640248082543n,
        2974225335734585509n,
        6365466669981419503n,
        12964544245312854826n,
        3161534615047618958n,
        15109271288782125222n,
      ]),
    ];
    for (let index = 1; index < 12; index += 1) {
      const previous = digests[index - 1] as bigint[];
      digests.push(two(previous, previous));
    }
    let result = two(digests[0] as bigint[], digests[1] as bigint[]);
    for (let index = 2; index < digests.length; index += 1) result = two(result, digests[index] as bigint[]);
    expect(result).toEqual([
      3346041518891302234n,
      10181430332820953144n,
      14852547783810217847n,
      17043509806476508794n,
    ]);
  });

  it('TestHashToQuinticExtension: 7 inputs to a GF(p^5) element', () => {
    expect(
      hashToQuinticExtension([
        3451004116618606032n,
        11263134342958518251n,
        10957204882857370932n,
        5369763041201481933n,
        7695734348563036858n,
        1393419330378128434n,
        7387917082382606332n,
      ]),
    ).toEqual([
      17992684813643984528n,
      5243896189906434327n,
      7705560276311184368n,
      2785244775876017560n,
      14449776097783372302n,
    ]);
  });

  it('a short last chunk overwrites only its lanes (no padding): 9 inputs differ from 9 inputs plus a zero', () => {
    const nine = Array.from({ length: 9 }, (_, index) => BigInt(index + 1));
    expect(hashToQuinticExtension(nine)).not.toEqual(hashToQuinticExtension([...nine, 0n]));
  });

  it('rejects a state of the wrong width and values that are not u64', () => {
    expect(() => poseidon2Permute([1n, 2n])).toThrow(/12 elements/);
    expect(() => poseidon2Permute(Array.from({ length: 12 }, () => -1n))).toThrow(/unsigned 64-bit/);
    expect(() => hashNToMNoPad([1n << 64n], 4)).toThrow(/unsigned 64-bit/);
  });

  it('uses the Frobenius constant of poseidon_crypto (FP5_DTH_ROOT)', () => {
    expect(FROBENIUS_ROOT).toBe(1041288259238279555n);
  });

  it('reads bytes as 8-byte little-endian words, zero-padding the last', () => {
    expect(bytesToGoldilocks(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0, 7, 6, 5, 4, 3, 2, 1, 0))).toEqual([
      0x0007060504030201n,
      0x0001020304050607n,
    ]);
    expect(bytesToGoldilocks(new TextEncoder().encode('123456789'))).toEqual([0x3837363534333231n, 0x39n]);
  });
});
