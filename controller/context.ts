/**
 * What the controller's operations share (network-ops.ts, sandbox-ops.ts,
 * join-ops.ts): the model's maps, the journal, the drivers, the cluster
 * binding and the locks. The Controller owns one and passes it to each
 * operation; nothing else holds it.
 */
import { randomBytes } from 'node:crypto';
import type { AsyncLock } from '../common/lock.js';
import type { ForwardingOptions, SharedCache } from '../resolver/index.js';
import { ClusterNotConfiguredError } from '../store/index.js';
import type { AttachDeps } from './attach.js';
import type { ClusterBinding } from './cluster.js';
import type { ControllerCore } from './core.js';
import type { Journal } from './journal.js';
import type { Network } from './network.js';
import type { Reservations } from './reservations.js';
import type { Sandbox } from './sandbox.js';
import type { Claims, FilesPlanContext } from './sandbox-files.js';

/** The controller's state, as its operations see it. */
export interface OpsContext extends AttachDeps {
  /** The controller: model objects made here delegate their operations to it. */
  readonly core: ControllerCore;
  readonly networks: Map<string, Network>;
  readonly sandboxes: Map<string, Sandbox>;
  /** Network and sandbox names of creates in progress (L5). */
  readonly pendingNames: Reservations;
  /** Network create and delete run one at a time: subnet, bridge name and topology change as one step (L5). */
  readonly allocation: AsyncLock;
  /** Managed file paths and namespace names of sandboxes, live or being made (L5). */
  readonly claims: Claims;
  readonly journal: Journal;
  readonly cluster: ClusterBinding | undefined;
  /** The default subnet pool (CIDR) local networks are carved from. */
  readonly pool: string;
  /** Where a sandbox's files go and come from (ControllerOptions, resolved once). */
  readonly files: FilesPlanContext;
  readonly forwarding: { readonly cache: SharedCache | false; readonly options?: Partial<ForwardingOptions> } | false;
  /** Start the link and origin watches (once there is a sandbox). */
  readonly startWatch: () => void;
  /** Throws ERR_CONTROLLER_CLOSED once the controller is closed. */
  readonly assertOpen: () => void;
}

/** A new object id: 64 hex digits, as Docker's. */
export const newId = (): string => randomBytes(32).toString('hex');

/** The cluster binding, or ERR_CLUSTER_NOT_CONFIGURED naming `what` needed it. */
export function globalBinding(ctx: OpsContext, what: string): ClusterBinding {
  if (ctx.cluster === undefined) throw new ClusterNotConfiguredError(what);
  return ctx.cluster;
}

/** Every network, in creation order. */
export const allNetworks = (ctx: OpsContext): Network[] => [...ctx.networks.values()];
