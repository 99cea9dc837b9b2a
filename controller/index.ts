/**
 * Controller public door: the libnetwork model (L1–L3).
 */
export { Controller, type ControllerOptions } from './controller.js';
export { Network, type NetworkInfo } from './network.js';
export { Endpoint } from './endpoint.js';
export { Sandbox, type SandboxInfo, type SandboxConfig } from './sandbox.js';
export type { NetworkOptions, EndpointOptions, JoinOptions, SandboxOptions, ExtraHost } from './options.js';
export * from './errors.js';

import { Controller, type ControllerOptions } from './controller.js';

/** Create a controller (STYLE (c): createController(options)). */
export function createController(options: ControllerOptions = {}): Controller {
  return new Controller(options);
}

export { createApi, API_ERROR_CODES, recordRows, reverseName, normalizeQuestion } from './routes.js';
export type { ApiRequest, ApiResponse, RouteDeps, RecordRow, ApiController, ApiSandbox } from './routes.js';
export { startApiServer, type ApiServer } from './io/api-server.js';
export { explain, renderPrometheus, type ResolverMetrics, type ResolverView } from '../resolver/index.js';
