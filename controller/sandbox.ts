/**
 * Sandbox entity (L1): one container's namespace, as the controller tracks it.
 * The DNS side (files, listener, resolver view) is sandbox/'s SandboxRuntime.
 */
import type { OpenedSandbox, SandboxRuntime } from '../sandbox/index.js';
import type { Endpoint } from './endpoint.js';
import type { ControllerCore } from './core.js';
import type { ExtraHost } from './options.js';

/** The sandbox's configuration as given (normalised). */
export interface SandboxConfig {
  readonly id: string;
  /** Absent when the name makes no valid host label and none was given (see defaultHostname). */
  readonly hostname?: string | undefined;
  readonly domainname?: string | undefined;
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  readonly dnsOptions: readonly string[];
  readonly extraHosts: readonly ExtraHost[];
  readonly disableResolution: boolean;
  readonly netnsName?: string | undefined;
  readonly externalKey?: string | undefined;
  readonly hostsPath: string;
  readonly resolvConfPath: string;
}

/** Public description of a sandbox (inspect / list). */
export interface SandboxInfo {
  id: string;
  hostname?: string;
  domainname?: string;
  netnsPath: string;
  externalKey: boolean;
  hostsPath: string;
  resolvConfPath: string;
  listening: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: ExtraHost[];
  extServers: { address: string; origin: string }[];
  endpoints: { id: string; name: string; network: string; ipv4: string; ipv6?: string; ifname?: string }[];
}

/** A sandbox. */
export class Sandbox {
  readonly config: SandboxConfig;
  readonly opened: OpenedSandbox;
  /** Joined endpoints by id. */
  readonly endpoints = new Map<string, Endpoint>();
  /** Interface names taken or being set up (eth0, eth1 ...). */
  readonly ifnames = new Set<string>();
  /** Set while the sandbox is being deleted: joins are refused (404) from then on (spec §2). */
  deleting = false;
  /** Gives back its managed paths and namespace name once it is gone (set by the controller). */
  releaseClaims: (() => void) | undefined;
  readonly #core: ControllerCore;

  constructor(core: ControllerCore, config: SandboxConfig, opened: OpenedSandbox) {
    this.#core = core;
    this.config = config;
    this.opened = opened;
  }

  /** The container id. */
  get id(): string {
    return this.config.id;
  }
  get hostname(): string | undefined {
    return this.config.hostname;
  }
  get netnsPath(): string {
    return this.opened.netnsPath;
  }
  get runtime(): SandboxRuntime {
    return this.opened.runtime;
  }

  /** Lowest free eth<N>, reserved synchronously (G11). */
  reserveIfname(): string {
    for (let i = 0; ; i++) {
      const n = `eth${i}`;
      if (!this.ifnames.has(n)) {
        this.ifnames.add(n);
        return n;
      }
    }
  }

  /** Leave every network and delete the sandbox (namespace too, unless an external key). */
  delete(): Promise<void> {
    return this.#core.deleteSandbox(this);
  }

  /** A JSON-friendly description. */
  info(): SandboxInfo {
    const c = this.config;
    return {
      id: c.id,
      ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
      ...(c.domainname ? { domainname: c.domainname } : {}),
      netnsPath: this.netnsPath,
      externalKey: !this.opened.ownsNetns,
      hostsPath: c.hostsPath,
      resolvConfPath: c.resolvConfPath,
      listening: this.runtime.listening,
      dns: [...c.dns],
      dnsSearch: [...c.dnsSearch],
      dnsOptions: [...c.dnsOptions],
      extraHosts: [...c.extraHosts],
      extServers: this.runtime.extServers.map((s) => ({ address: s.address, origin: s.origin })),
      endpoints: this.runtime.endpoints.map((se) => {
        const e = this.endpoints.get(se.endpointId)!;
        return {
          id: e.id,
          name: e.name,
          network: e.network.name,
          ipv4: e.ipv4,
          ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
          ...(e.joinInfo ? { ifname: e.joinInfo.ifname } : {}),
        };
      }),
    };
  }
}
