/**
 * Controller public door: the libnetwork model (L1, L2): networks,
 * endpoints, sandboxes, join and leave. No HTTP (api/) and no file format
 * (store/) here; the controller maps its model to the store's records.
 */
export { Controller, type ControllerOptions } from './controller.js';
export { Network, type NetworkInfo } from './network.js';
export { Endpoint } from './endpoint.js';
export { Sandbox, type SandboxInfo, type SandboxConfig } from './sandbox.js';
export type { LinkState } from './core.js';
export type { NetworkOptions, EndpointOptions, JoinOptions, SandboxOptions, ExtraHost } from './options.js';
export { checkPublish } from './options.js';
export * from './errors.js';

import { Controller, type ControllerOptions } from './controller.js';

/**
 * Create a controller: the model, empty. With `options.stateDir`, call
 * `restore()` once before any change to load what was saved (L3). Options
 * are documented on ControllerOptions; nothing is checked until first use.
 */
export function createController(options: ControllerOptions = {}): Controller {
  return new Controller(options);
}

export type { RestoreReport } from './restore.js';
export { setSandboxKey, releaseSandboxKey } from './keys.js';
export type { KeyDeps } from './keys.js';
export { explain, renderPrometheus, type ResolverMetrics, type ResolverView } from '../resolver/index.js';
