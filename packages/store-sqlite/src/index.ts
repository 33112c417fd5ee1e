export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './schema';
export {
  DEFAULT_URGENT_TYPES,
  type RunInfo,
  SqliteStore,
  type SqliteStoreOptions,
} from './sqlite-store';
