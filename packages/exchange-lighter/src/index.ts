export { clientIndexFor, LighterExchange, type LighterExchangeContext } from './lighter-exchange';
export {
  LIGHTER_HOSTS,
  type LighterOptions,
  type LighterOptionsInput,
  lighterAccountSchema,
  lighterApiKeySchema,
  lighterOptionsSchema,
} from './options';
export { default, default as lighterExchange } from './plugin';
export { INVALID_NONCE_CODE, LighterApiError, LighterRestClient } from './rest-client';
export * from './signer/index';
export {
  FEE_TICK,
  fundingHistoryRowToHourly,
  fundingRatesEndpointToHourly,
  percentPerHourToHourly,
  tradeFee,
} from './units';
