/**
 * Controller public door: the libnetwork model (L1–L3).
 */
export { Controller } from './controller.js';
export { Network } from './network.js';
export { Endpoint } from './endpoint.js';
export { Sandbox } from './sandbox.js';
export * from './errors.js';
import { Controller } from './controller.js';
/** Create a controller (STYLE (c): createController(options)). */
export function createController(options = {}) {
    return new Controller(options);
}
/** Create a controller and restore what its stateDir holds (L3): networks, sandboxes, endpoints, listeners. */
export async function restoreController(options) {
    const controller = new Controller(options);
    const report = (await controller.restore());
    return { controller, report };
}
export { setSandboxKey, releaseSandboxKey, isLateKey } from './keys.js';
export * from './state-errors.js';
export { createApi, API_ERROR_CODES, recordRows, reverseName, normalizeQuestion } from './routes.js';
export { startApiServer } from './io/api-server.js';
export { explain, renderPrometheus } from '../resolver/index.js';
//# sourceMappingURL=index.js.map