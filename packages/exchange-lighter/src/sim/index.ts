export {
  type LighterSimAccount,
  type LighterSimMarket,
  LighterSimulator,
  type LighterSimulatorOptions,
  SIM_ERROR,
} from './lighter-simulator';
