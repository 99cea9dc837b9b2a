/**
 * CNI public door: the sandns CNI plugin (CNI spec 1.0.0; 0.4.0 and 0.3.x
 * result shapes). Pure parts (config, results, names, network bodies,
 * deferred records) plus the wiring of its io/ (the API client over the
 * unix socket, the deferred-records directory, namespace identity).
 */
import { createDaemonClient } from './io/client.js';
import { deferredStoreFor, readDeferredDir } from './io/deferred-store.js';
import { namespaceIdentity } from './io/netns.js';
import { runPlugin, type PluginOutcome } from './plugin.js';

export { runPlugin, errorResult, socketOf, DEFAULT_SOCKET, type PluginIo, type PluginOutcome } from './plugin.js';
export { parseConfig, decodeStdin, type PluginConfig, type PortMapping } from './config.js';
export { parseInvocation, parseCniArgs, type Invocation } from './env.js';
export { parseResult, renderResult, withSandnsDns, SANDNS_NAMESERVER } from './result.js';
export { sandboxIdOf, endpointNameOf } from './identity.js';
export { deferredDirOf, parseDeferred, deferredApplied, type DeferredRecord, type DeferredRequest } from './pending.js';
export { publishOf, type PublishSpec } from './network.js';
export { CNI_ERROR_CODES, CniError } from './errors.js';
export { SUPPORTED_VERSIONS, CURRENT_VERSION, CNI_CODE, type CniResult } from './spec.js';
export { createDaemonClient, deferredStoreFor, readDeferredDir, namespaceIdentity };

/** Run the plugin against the real daemon and deferred directory. */
export function runCniPlugin(env: Readonly<Record<string, string | undefined>>, stdin: string): Promise<PluginOutcome> {
  return runPlugin({ env, stdin, connect: (s) => createDaemonClient(s), deferredStore: (s) => deferredStoreFor(s), namespaceIdentity, now: () => new Date() });
}
