export { X10Simulator, type X10SimulatorOptionsInput, x10SimulatorOptionsSchema } from './simulator';
