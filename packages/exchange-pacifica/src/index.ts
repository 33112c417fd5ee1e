export * from './backoff';
export { BUSINESS_ERROR_CODES, rejectionReason, type VenueFailure, venueError } from './errors';
export { PacificaExchange, type PositionTpslRequest, type StopOrderRequest } from './exchange';
export * from './options';
export { default, default as pacificaExchange } from './plugin';
export * from './rest-client';
export type * from './schemas';
export * from './signing';
export * from './ws-client';
