/** The running core version; plugins declare a semver range over it in `meta.core`. */
export const CORE_VERSION = '0.1.0';
