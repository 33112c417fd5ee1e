import { ed25519 } from '@noble/curves/ed25519';
import { ExchangeError } from '@perpkit/core';
import { base58 } from '@scure/base';

/**
 * Pacifica request signing.
 *
 * The signed message is a JSON object with the header fields `type`, `timestamp` and
 * `expiry_window` and the operation payload under `data`; keys are sorted at every level and the
 * JSON is compact (no whitespace), exactly as the official Python SDK's `prepare_message` builds it
 * (`json.dumps(sorted, separators=(",", ":"))`, which also escapes every non-ASCII character). The
 * UTF-8 bytes are signed with ed25519 and the signature is sent as base58.
 *
 * The request body repeats the payload fields at the top level (not under `data`), next to
 * `account`, `agent_wallet` (agent keys only), `signature`, `timestamp` and `expiry_window`.
 */

/** A JSON value that can be signed: decimals travel as strings, numbers must be integers. */
export type SignableValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly SignableValue[]
  | { readonly [key: string]: SignableValue };

export type SignablePayload = { readonly [key: string]: SignableValue };

/** A 32-byte ed25519 seed or a 64-byte Solana secret key (seed ‖ public key), as bytes or base58. */
export type SecretKeyInput = Uint8Array | string;

export interface SignMessageInput {
  /** Operation type, e.g. `create_order`. */
  readonly type: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  /** Milliseconds the signature stays valid after `timestamp` (the venue defaults to 30 000). */
  readonly expiryWindow: number;
  /** The operation payload (the fields sent flattened in the body). */
  readonly data: SignablePayload;
}

export interface SignedMessage {
  /** The exact string whose UTF-8 bytes were signed. */
  readonly message: string;
  /** The ed25519 signature, base58. */
  readonly signature: string;
}

export interface BuildSignedRequestInput extends SignMessageInput {
  /** The main account's public key (base58). Stays the main account when an agent key signs. */
  readonly account: string;
  /** The key that signs: the account's own key, or the agent wallet's key when `agentWallet` is set. */
  readonly secretKey: SecretKeyInput;
  /** The agent wallet's public key (base58), sent as `agent_wallet`, when an agent key signs. */
  readonly agentWallet?: string;
}

/** The JSON body to POST: header fields then the payload fields, flattened. */
export type SignedRequestBody = {
  readonly account: string;
  readonly agent_wallet?: string;
  readonly signature: string;
  readonly timestamp: number;
  readonly expiry_window: number;
} & { readonly [key: string]: SignableValue };

function invalid(message: string): ExchangeError {
  return new ExchangeError('INVALID_ARGUMENT', message, { retryable: false });
}

// ------------------------------------------------------------------------------ canonical JSON

/** Python's `sorted()` on str compares code points; JS `<` compares UTF-16 units. */
function compareCodePoints(left: string, right: string): number {
  const leftPoints = Array.from(left, (character) => character.codePointAt(0) as number);
  const rightPoints = Array.from(right, (character) => character.codePointAt(0) as number);
  const length = Math.min(leftPoints.length, rightPoints.length);
  for (let index = 0; index < length; index += 1) {
    const difference = (leftPoints[index] as number) - (rightPoints[index] as number);
    if (difference !== 0) return difference;
  }
  return leftPoints.length - rightPoints.length;
}

function isAsciiSortSafe(key: string): boolean {
  for (let index = 0; index < key.length; index += 1) if (key.charCodeAt(index) >= 0xd800) return false;
  return true;
}

function compareKeys(left: string, right: string): number {
  if (isAsciiSortSafe(left) && isAsciiSortSafe(right)) return left < right ? -1 : left > right ? 1 : 0;
  return compareCodePoints(left, right);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A JSON string as Python's `json.dumps` writes it with `ensure_ascii` (the default). */
function quote(text: string): string {
  let out = '"';
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c) {
      out += text[index];
      continue;
    }
    const short = SHORT_ESCAPES[text[index] as string];
    // UTF-16 code units map one to one onto Python's \uXXXX escapes (surrogate pairs included).
    out += short ?? `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function serialize(value: SignableValue, path: string): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw invalid(
        `${path} is ${value}: signed numbers must be safe integers (send prices and amounts as decimal strings)`,
      );
    return String(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((item, index) => {
        if (item === undefined) throw invalid(`${path}[${index}] is undefined`);
        return serialize(item, `${path}[${index}]`);
      })
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const object = value as { readonly [key: string]: SignableValue };
    const keys = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort(compareKeys);
    return `{${keys.map((key) => `${quote(key)}:${serialize(object[key], `${path}.${key}`)}`).join(',')}}`;
  }
  throw invalid(`${path} has an unsupported type ${typeof value}`);
}

/**
 * Compact JSON with keys sorted at every level, byte for byte what the official SDK signs. Keys whose
 * value is `undefined` are left out (as `JSON.stringify` does), so optional fields can be passed as
 * `undefined`.
 */
export function canonicalJson(value: SignableValue): string {
  return serialize(value, 'data');
}

/** The exact message string signed for a header and payload. */
export function prepareMessage(input: SignMessageInput): string {
  if (typeof input.type !== 'string' || input.type.length === 0)
    throw invalid('type must be a non-empty string');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp <= 0)
    throw invalid(`timestamp must be a positive integer of milliseconds (got ${input.timestamp})`);
  if (!Number.isSafeInteger(input.expiryWindow) || input.expiryWindow <= 0)
    throw invalid(`expiryWindow must be a positive integer of milliseconds (got ${input.expiryWindow})`);
  if (typeof input.data !== 'object' || input.data === null || Array.isArray(input.data))
    throw invalid('data must be an object');
  return canonicalJson({
    type: input.type,
    timestamp: input.timestamp,
    expiry_window: input.expiryWindow,
    data: input.data,
  });
}

// ------------------------------------------------------------------------------ keys

/** An ed25519 key pair read from a seed or a Solana secret key. The seed never leaves this object. */
export interface PacificaKeyPair {
  /** Base58 public key (the Solana address). */
  readonly publicKey: string;
  sign(message: Uint8Array): Uint8Array;
}

function decodeSecretKey(input: SecretKeyInput): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (typeof input !== 'string') throw invalid('secretKey must be bytes or a base58 string');
  try {
    return base58.decode(input.trim());
  } catch {
    // The text is a secret: never echo it.
    throw invalid('secretKey is not valid base58');
  }
}

/**
 * Reads a 32-byte seed or a 64-byte Solana secret key (seed ‖ public key), as bytes or base58. A
 * 64-byte key whose public half does not belong to its seed is refused.
 */
export function keyPairFromSecretKey(input: SecretKeyInput): PacificaKeyPair {
  const bytes = decodeSecretKey(input);
  if (bytes.length !== 32 && bytes.length !== 64)
    throw invalid(`secretKey must be a 32-byte seed or a 64-byte secret key (got ${bytes.length} bytes)`);
  const seed = bytes.slice(0, 32);
  const publicKeyBytes = ed25519.getPublicKey(seed);
  if (bytes.length === 64) {
    const given = bytes.subarray(32);
    for (let index = 0; index < 32; index += 1) {
      if (given[index] !== publicKeyBytes[index])
        throw invalid('secretKey: the public half of the 64-byte key does not match its seed');
    }
  }
  const publicKey = base58.encode(publicKeyBytes);
  return {
    publicKey,
    sign: (message) => ed25519.sign(message, seed),
  };
}

/** The base58 public key of a secret key. */
export function publicKeyOf(secretKey: SecretKeyInput): string {
  return keyPairFromSecretKey(secretKey).publicKey;
}

const encoder = new TextEncoder();

function resolveKeyPair(secretKey: SecretKeyInput | PacificaKeyPair): PacificaKeyPair {
  return typeof secretKey === 'object' && !(secretKey instanceof Uint8Array)
    ? secretKey
    : keyPairFromSecretKey(secretKey);
}

// ------------------------------------------------------------------------------ signing

/**
 * Signs one operation. `message` is the exact string that was signed (UTF-8), `signature` its
 * ed25519 signature in base58.
 */
export function signMessage(
  input: SignMessageInput,
  secretKey: SecretKeyInput | PacificaKeyPair,
): SignedMessage {
  const message = prepareMessage(input);
  const keyPair = resolveKeyPair(secretKey);
  return { message, signature: base58.encode(keyPair.sign(encoder.encode(message))) };
}

/**
 * The exact JSON body to POST for a signed operation: `account`, `agent_wallet` (only when an agent
 * key signs), `signature`, `timestamp`, `expiry_window`, then the payload fields flattened. The
 * operation `type` is not sent: the endpoint implies it.
 */
export function buildSignedRequest(
  input: Omit<BuildSignedRequestInput, 'secretKey'> & {
    readonly secretKey: SecretKeyInput | PacificaKeyPair;
  },
): SignedRequestBody {
  if (typeof input.account !== 'string' || input.account.length === 0)
    throw invalid('account must be the base58 public key of the main account');
  const keyPair = resolveKeyPair(input.secretKey);
  if (input.agentWallet !== undefined && input.agentWallet !== keyPair.publicKey)
    throw invalid('agentWallet must be the public key of the secretKey that signs');
  if (input.agentWallet === undefined && input.account !== keyPair.publicKey)
    throw invalid('account is not the public key of secretKey; set agentWallet when an agent key signs');
  // `agent_wallet` is payload in the agent-key operations (bind, revoke), a header field otherwise.
  const reserved = ['account', 'signature', 'timestamp', 'expiry_window'];
  if (input.agentWallet !== undefined) reserved.push('agent_wallet');
  for (const field of reserved)
    if (input.data[field] !== undefined)
      throw invalid(`data.${field} is a request header field and cannot be part of the payload`);
  const { signature } = signMessage(input, keyPair);
  const body: Record<string, SignableValue> = { account: input.account };
  if (input.agentWallet !== undefined) body.agent_wallet = input.agentWallet;
  body.signature = signature;
  body.timestamp = input.timestamp;
  body.expiry_window = input.expiryWindow;
  for (const [key, value] of Object.entries(input.data)) if (value !== undefined) body[key] = value;
  return body as SignedRequestBody;
}

// ------------------------------------------------------------------------------ verification

export type VerificationFailure =
  | 'INVALID_SIGNATURE'
  | 'INVALID_PUBLIC_KEY'
  | 'VERIFICATION_FAILED'
  | 'INVALID_MESSAGE';

/**
 * Checks a signature the way the venue does (used by the simulator, and by users who want to
 * check their own signer): returns `undefined` when valid, else why not.
 */
export function verifySignature(
  input: SignMessageInput,
  signature: string,
  publicKey: string,
): VerificationFailure | undefined {
  let message: string;
  try {
    message = prepareMessage(input);
  } catch {
    return 'INVALID_MESSAGE';
  }
  let signatureBytes: Uint8Array;
  try {
    signatureBytes = base58.decode(signature);
  } catch {
    return 'INVALID_SIGNATURE';
  }
  if (signatureBytes.length !== 64) return 'INVALID_SIGNATURE';
  let publicKeyBytes: Uint8Array;
  try {
    publicKeyBytes = base58.decode(publicKey);
    if (publicKeyBytes.length !== 32) return 'INVALID_PUBLIC_KEY';
    ed25519.ExtendedPoint.fromHex(publicKeyBytes);
  } catch {
    return 'INVALID_PUBLIC_KEY';
  }
  try {
    return ed25519.verify(signatureBytes, encoder.encode(message), publicKeyBytes)
      ? undefined
      : 'VERIFICATION_FAILED';
  } catch {
    return 'INVALID_SIGNATURE';
  }
}
