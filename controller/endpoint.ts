/**
 * Endpoint entity (L1): a sandbox's attachment to one network.
 */
import type { DriverJoinInfo, PortMapping } from '../drivers/index.js';
import type { Network } from './network.js';
import type { Sandbox } from './sandbox.js';
import type { JoinOptions } from './options.js';
import type { ControllerCore } from './core.js';

/**
 * An endpoint's attachment to a sandbox, one immutable value: replaced whole
 * (Endpoint.attach) whenever any part changes, so a reader never sees half an
 * update. `link` is what the driver made on join (the veth); it is undefined
 * while the endpoint is only claimed (the sandbox has no key yet, or the join
 * is still running).
 */
export interface Attachment {
  readonly sandbox: Sandbox;
  /** Join priority: higher first in R4 order. */
  readonly priority: number;
  /** True while this endpoint carries the sandbox's default route. */
  readonly gateway: boolean;
  readonly link: DriverJoinInfo | undefined;
  /** The interface name asked for (a CNI runtime's CNI_IFNAME); kept for a join deferred until the sandbox's key. */
  readonly ifname?: string | undefined;
  /**
   * This join takes up a claim that was answered before (the sandbox's late key came): a crash during it puts the
   * claim back (restore), where a join cut short is otherwise a connect that never answered, undone.
   */
  readonly resumed?: boolean | undefined;
}

/** A network endpoint. */
export class Endpoint {
  readonly id: string;
  readonly name: string;
  readonly network: Network;
  readonly aliases: readonly string[];
  readonly ipv4: string;
  readonly ipv6: string | undefined;
  readonly ports: readonly { port: number; proto: 'tcp' | 'udp' }[];
  readonly links: ReadonlyMap<string, string>;
  readonly disableResolution: boolean;
  /** Published ports with their reserved host ports. */
  readonly portMappings: readonly PortMapping[];
  /** The MAC address asked for, if any. */
  readonly macAddress: string | undefined;
  /** It exists only while joined (the API's connect): restore deletes it when a crash left it without a join (L6). */
  readonly joinedOnly: boolean;
  /** The join in progress, if any: leave waits for it (no half-joined state is ever torn down). */
  joining: Promise<void> | undefined;
  /**
   * The leave in progress, if any; resolves (never rejects) when it ends. The API's
   * disconnect, the link watch's drop of a vanished interface, a cluster disconnect and a sandbox delete may all leave
   * one endpoint at once: a later leave, and a delete, wait for this one and then look again, so an endpoint leaves
   * once and is deleted only once it has left (L5).
   */
  leaving: Promise<void> | undefined;
  /**
   * Set while the connect that made it (Network.connect) has not answered: it may still fail, or be undone by a
   * crash. An operation this endpoint would refuse (a second connect of its sandbox to its network, an endpoint of
   * the same name, the network's delete) waits for it and looks again, so a refusal only ever rests on answered
   * operations (L5). Settles (never rejects) when the connect answers.
   */
  provisional: Promise<void> | undefined;
  #attachment: Attachment | undefined;
  readonly #core: ControllerCore;

  constructor(
    core: ControllerCore,
    init: { id: string; name: string; network: Network; aliases: readonly string[]; ipv4: string; ipv6?: string | undefined; ports: readonly { port: number; proto: 'tcp' | 'udp' }[]; links: ReadonlyMap<string, string>; disableResolution: boolean; portMappings?: readonly PortMapping[]; macAddress?: string | undefined; joinedOnly?: boolean;
      provisional?: Promise<void> | undefined },
  ) {
    this.#core = core;
    this.id = init.id;
    this.name = init.name;
    this.network = init.network;
    this.aliases = init.aliases;
    this.ipv4 = init.ipv4;
    this.ipv6 = init.ipv6;
    this.ports = init.ports;
    this.links = init.links;
    this.disableResolution = init.disableResolution;
    this.portMappings = init.portMappings ?? [];
    this.macAddress = init.macAddress;
    this.joinedOnly = init.joinedOnly ?? false;
    this.provisional = init.provisional;
  }

  /** Where the endpoint is attached, if anywhere. */
  get attachment(): Attachment | undefined {
    return this.#attachment;
  }

  /** Replace the attachment whole (undefined: detached). The only writer of the attachment; synchronous (G11). */
  attach(next: Attachment | undefined): void {
    this.#attachment = next === undefined ? undefined : Object.freeze({ ...next });
  }

  /** The sandbox it is attached to, if any. */
  get sandbox(): Sandbox | undefined {
    return this.#attachment?.sandbox;
  }

  /** What the driver made on join (for leave), once plumbed. */
  get joinInfo(): DriverJoinInfo | undefined {
    return this.#attachment?.link;
  }

  /** Join priority (R4); 0 when detached. */
  get priority(): number {
    return this.#attachment?.priority ?? 0;
  }

  /** True while this endpoint carries the sandbox's default route. */
  get gateway(): boolean {
    return this.#attachment?.gateway ?? false;
  }

  /** DNS names in order: endpoint (container) name, aliases, short id, hostname; de-duplicated (spec Model). */
  dnsNames(sandbox: Sandbox): string[] {
    const names = [this.name, ...this.aliases];
    if (/^[0-9a-f]{12,}$/.test(sandbox.id)) names.push(sandbox.id.slice(0, 12));
    if (sandbox.hostname !== undefined) names.push(sandbox.hostname);
    const seen = new Set<string>();
    return names.filter((n) => {
      const k = n.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /**
   * Join a sandbox (L1, L2, R15): the veth goes into its namespace as
   * eth<N>, the names into the network's records, the network into the
   * sandbox's view and hosts file; the first non-internal endpoint gets the
   * default route. A sandbox waiting for its key (`late`) only claims the
   * endpoint: it joins when the key is set. `options.priority` orders the
   * sandbox's networks (R4; default 0). On failure every step is undone.
   * Throws ERR_ENDPOINT_ALREADY_JOINED, ERR_SANDBOX_NOT_FOUND,
   * ERR_ENDPOINT_NOT_FOUND, ERR_SANDBOX_ALREADY_ON_NETWORK,
   * ERR_CONTROLLER_CLOSED, ERR_EXEC_FAILED (the kernel refused a link step).
   */
  join(sandbox: Sandbox, options: JoinOptions = {}): Promise<void> {
    return this.#core.join(this, sandbox, options);
  }

  /**
   * Leave the sandbox (L1, R15): the names stop resolving, the view, the
   * hosts lines and the veth go, and the default route moves to the next
   * endpoint. Waits for a join in progress first. Throws
   * ERR_ENDPOINT_NOT_JOINED when not joined to `sandbox`. The endpoint
   * leaves whatever fails; the first failure is thrown after.
   */
  leave(sandbox: Sandbox): Promise<void> {
    return this.#core.leave(this, sandbox);
  }

  /**
   * Leave the sandbox's namespace (its veth, names and lines go, as in leave) but stay claimed by the sandbox, to join
   * again when it gets its next key: a late key released (the container stopped). On disk the endpoint goes from
   * joined to waiting, never unclaimed. Throws as leave.
   */
  unplug(sandbox: Sandbox): Promise<void> {
    return this.#core.unplug(this, sandbox);
  }

  /**
   * Join the sandbox that claims this endpoint (it was waiting for the sandbox's key, which is there now), with the
   * priority and interface name of the claim. Whatever fails, it stays claimed, in memory and on disk. Throws
   * ERR_ENDPOINT_NOT_JOINED when `sandbox` does not claim it, and as join.
   */
  plug(sandbox: Sandbox): Promise<void> {
    return this.#core.plug(this, sandbox);
  }

  /**
   * Disconnect (the API's): leave its sandbox, when it has one, and be
   * deleted. Refusable: the sandbox's own hosts lines go first, and a refused
   * edit throws with nothing changed; a step that fails after the endpoint
   * left still deletes it, then throws.
   */
  disconnect(): Promise<void> {
    return this.#core.leaveAndDelete(this, true);
  }

  /** Delete the endpoint and release its addresses (L1, L2). Throws ERR_ENDPOINT_ACTIVE (403) while joined. */
  delete(): Promise<void> {
    return this.#core.deleteEndpoint(this);
  }
}

/**
 * What to wait for before a check that a provisional endpoint among `eps` would fail: their connects' outcomes, or
 * undefined when none is provisional. Callers loop until undefined and then check in the same synchronous run
 * (`for (let w = provisionalOf(x); w; w = provisionalOf(x)) await w;`): a connect begun during a wait is seen.
 */
export function provisionalOf(eps: Iterable<Endpoint | undefined>): Promise<unknown> | undefined {
  const waits: Promise<void>[] = [];
  for (const e of eps) if (e?.provisional !== undefined) waits.push(e.provisional);
  return waits.length === 0 ? undefined : Promise.all(waits);
}
