export * from './exchange-contract';
export * from './fake-exchange';
export * from './harness';
export * from './plugin-contracts';
export * from './redis-server';
