/**
 * The operations entities delegate to (the Controller implements this), so
 * entities and controller do not import each other at runtime.
 */
import type { Endpoint } from './endpoint.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';
import type { EndpointOptions, JoinOptions } from './options.js';
import type { Logger } from '../common/log.js';

/** Operations on entities, implemented by Controller. */
export interface ControllerCore {
  readonly logger: Logger;
  createEndpoint(network: Network, name: string, options: EndpointOptions): Promise<Endpoint>;
  deleteEndpoint(endpoint: Endpoint): Promise<void>;
  deleteNetwork(network: Network): Promise<void>;
  join(endpoint: Endpoint, sandbox: Sandbox, options: JoinOptions): Promise<void>;
  leave(endpoint: Endpoint, sandbox: Sandbox): Promise<void>;
  /** Leave the sandbox's namespace but stay claimed by it (a late key released; join-ops.ts leave with keepClaim). */
  unplug(endpoint: Endpoint, sandbox: Sandbox): Promise<void>;
  /** Join a sandbox that claims the endpoint (its key came); claimed still when that fails (join-ops.ts join with resume). */
  plug(endpoint: Endpoint, sandbox: Sandbox): Promise<void>;
  leaveAndDelete(endpoint: Endpoint, refusable?: boolean): Promise<void>;
  deleteSandbox(sandbox: Sandbox): Promise<void>;
  /** Claim the namespace at `path` for sandbox `id` (one namespace, one sandbox); throws ERR_SANDBOX_NETNS_IN_USE. */
  claimNetns(id: string, path: string): void;
  /** Give back the namespace sandbox `id` holds. */
  releaseNetns(id: string): void;
  /** What the network's driver shows of it (bridge name, MTU). */
  describeNetwork(network: Network): Readonly<Record<string, unknown>>;
  linkProblems(sandbox: Sandbox): Promise<LinkState[]>;
}

/** One joined endpoint's links as its driver sees them (CNI CHECK): empty `problems` when all is well. */
export interface LinkState {
  network: string;
  ifname: string;
  problems: string[];
}
