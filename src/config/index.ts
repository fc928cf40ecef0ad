/** The config pipeline's public surface. */
export { loadConfig, loadConfigFromString } from './load-config.ts';
export type { LoadConfigOptions, LoadConfigFromStringOptions } from './load-config.ts';
export type { FilterPatternValidator } from './check-context.ts';
export type { ConfigProblem } from './config-error.ts';
export { formatProblem, redactUrlCredentials } from './config-error.ts';
export { parseDestination } from './destinations.ts';
export { buildSluiceSchema } from './schema.ts';
export type * from './types.ts';
export type * from './options.ts';
