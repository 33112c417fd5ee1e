export { builtinPlugins } from './builtins';
export type { ComposeOptions, Composition, LoadedPlugins } from './compose';
export { composeEngine, loadPlugins, searchDirsFor } from './compose';
export type { LoadedConfig, RunnerConfig } from './config';
export {
  canonicalJson,
  decideMode,
  interpolateEnv,
  loadConfig,
  parseConfig,
  runnerConfigSchema,
} from './config';
export { main } from './main';
export { resolvePlugins } from './resolve';
