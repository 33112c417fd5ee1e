import { fileURLToPath } from 'node:url';

/** The shared historical data, by relative path from this package. */
export const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
export const at = (relative: string) => `${DATA}${relative}`;
