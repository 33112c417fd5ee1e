export {
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
} from './ecgfp5';
export { type Fp5, fp5InverseOrZero, fp5Multiply, fp5SquareRoot } from './gfp5';
export { bytesToGoldilocks, GOLDILOCKS_PRIME } from './goldilocks';
export {
  generateLighterKeyPair,
  lighterPrivateKeyFromSeed,
  lighterPublicKey,
  privateKeyToLimbs,
} from './keys';
export {
  hashNoPad,
  hashNToMNoPad,
  hashToQuinticExtension,
  POSEIDON2_RATE,
  POSEIDON2_WIDTH,
  poseidon2Permute,
} from './poseidon2';
export {
  bigintToLimbs,
  bytesToHex,
  hexToBytes,
  limbsToBigint,
  type SchnorrSignature,
  schnorrSign,
  schnorrSignWithNonce,
  schnorrVerify,
  signatureFromBytes,
  signatureToBytes,
} from './schnorr';
export {
  type AuthTokenRequest,
  authTokenMessageHash,
  type CancelOrderTx,
  CHAIN_ID,
  type CreateOrderTx,
  cancelOrderTxHash,
  createAuthToken,
  createOrderTxHash,
  type L2TxAttributes,
  LighterTxFieldError,
  ORDER_TYPE,
  parseAuthToken,
  type SignedTx,
  signCancelOrder,
  signCreateOrder,
  TIME_IN_FORCE,
  TX_TYPE_CANCEL_ALL_ORDERS,
  TX_TYPE_CANCEL_ORDER,
  TX_TYPE_CREATE_ORDER,
} from './transactions';
