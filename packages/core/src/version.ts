import { version } from '../package.json';

/**
 * The running core version; plugins declare a semver range over it in `meta.core`. Read from the
 * package manifest at build time, so a release can never ship a stale number.
 */
export const CORE_VERSION: string = version;
