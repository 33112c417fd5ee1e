export * from './key-derivation';
export type { X10AccountOptions, X10Options, X10OptionsInput } from './options';
export { NETWORKS, x10AccountSchema, x10OptionsSchema } from './options';
export { OrderBookState } from './order-book';
export { default, default as x10Exchange } from './plugin';
export { type RestClientOptions, VENUE_ERROR_CODES, venueErrorName, X10RestClient } from './rest-client';
export * from './signing';
export { StreamConnection, type StreamOptions } from './stream';
export { X10Exchange } from './x10-exchange';
