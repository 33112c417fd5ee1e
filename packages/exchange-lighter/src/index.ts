export * from './signer/index';
