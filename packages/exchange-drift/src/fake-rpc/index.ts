export { DriftCoder } from '../coder';
export * from './jito';
export * from './markets';
export {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  associatedTokenAddress,
  type ExecutionResult,
  FakeDriftProgram,
  type FakeTokenAccount,
  ProgramError,
  SYSTEM_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from './program';
export { FakeDriftRpc, type FakeRpcOptions, startFakeDriftRpc } from './server';
