/**
 * The API's public door (L1 over HTTP/JSON on a unix socket): createApi turns
 * requests into controller calls; startApiServer serves them over HTTP.
 */
export { createApi, matchRoute, routePattern } from './routes.js';
export { parseTarget, pathSegments } from './path.js';
export { recordRows, reverseName, normalizeQuestion } from './records.js';
export * from './errors.js';
export type * from './types.js';
export { startApiServer, type ApiServer, type ApiServerOptions } from './io/server.js';
export { prepareSocketPath } from './io/socket-path.js';
