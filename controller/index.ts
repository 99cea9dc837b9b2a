/**
 * Controller public door: the libnetwork model (L1, L2): networks,
 * endpoints, sandboxes, join and leave. No HTTP (api/) and no file format
 * (store/) here; the controller maps its model to the store's records.
 */
export { Controller, type ControllerOptions } from './controller.js';
export { Network, type NetworkInfo } from './network.js';
export { Endpoint } from './endpoint.js';
export { Sandbox, type SandboxInfo, type SandboxConfig } from './sandbox.js';
export type { NetworkOptions, EndpointOptions, JoinOptions, SandboxOptions, ExtraHost } from './options.js';
export * from './errors.js';

import { Controller, type ControllerOptions } from './controller.js';
import type { RestoreReport } from './restore.js';

/** Create a controller (STYLE (c): createController(options)). */
export function createController(options: ControllerOptions = {}): Controller {
  return new Controller(options);
}

/** Create a controller and restore what its stateDir holds (L3): networks, sandboxes, endpoints, listeners. */
export async function restoreController(options: ControllerOptions & { stateDir: string }): Promise<{ controller: Controller; report: RestoreReport }> {
  const controller = new Controller(options);
  const report = (await controller.restore())!;
  return { controller, report };
}

export type { RestoreReport } from './restore.js';
export { setSandboxKey, releaseSandboxKey, isLateKey } from './keys.js';
export { explain, renderPrometheus, type ResolverMetrics, type ResolverView } from '../resolver/index.js';
