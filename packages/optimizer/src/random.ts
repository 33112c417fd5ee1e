/**
 * Seeded pseudo-random numbers for the samplers and Monte Carlo. `Math.random` cannot be seeded,
 * and a study must propose the same parameter sets when it is resumed or spread over workers, so
 * every random draw in this package comes from a stream created here.
 */

/**
 * A fast PRNG (sfc32, 128-bit state, passes PractRand) returning floats in [0, 1). The same seed
 * always gives the same stream. The seed is spread over the state with splitmix32 so that nearby
 * seeds (0, 1, 2, ...) give unrelated streams.
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  const splitmix = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let counter = splitmix();
  const next = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // The first outputs of sfc32 still carry traces of the seed: discard a few.
  for (let index = 0; index < 12; index++) next();
  return next;
}

/**
 * Derives one 32-bit seed from several integers, e.g. `(studySeed, batchIndex)`, so that each batch
 * gets an independent stream that depends only on its coordinates (not on what ran before it).
 * Order matters: `mixSeed(1, 2) !== mixSeed(2, 1)`. Integers up to 2^53 are mixed whole (low and
 * high 32 bits); fractions are dropped.
 */
export function mixSeed(...parts: number[]): number {
  let hash = 0x811c9dc5 ^ parts.length;
  const words: number[] = [];
  for (const part of parts) words.push(part | 0, Math.floor(part / 4294967296) | 0);
  for (const word of words) {
    // murmur3-style avalanche of each word before combining, so small differences spread.
    let k = Math.imul(word, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    hash ^= k;
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
