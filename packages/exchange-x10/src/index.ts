export * from './key-derivation';
export * from './signing';
