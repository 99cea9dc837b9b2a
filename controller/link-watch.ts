/**
 * Vanished interfaces (L2, R15): when a joined endpoint's host link goes
 * behind our back (someone deleted the veth, or the container's namespace was
 * destroyed with it), the endpoint leaves and is deleted at once, as a failed
 * connect is, so its names stop resolving and its address is free again. The
 * drivers hear it from kernel link events; nothing polls, no timer per sandbox.
 */
import type { Logger } from '../common/log.js';
import type { DriverRegistry } from '../drivers/index.js';
import type { Endpoint } from './endpoint.js';
import type { Network } from './network.js';

/** What the watch needs from the controller. */
export interface LinkWatchDeps {
  readonly drivers: DriverRegistry;
  readonly logger: Logger;
  readonly networks: () => Iterable<Network>;
  /** Leave and delete `ep` (the controller's own operations). */
  readonly drop: (ep: Endpoint) => Promise<void>;
}

/** The joined endpoint whose host link is `ifname`, if any. */
export function endpointOfHostLink(networks: Iterable<Network>, ifname: string): Endpoint | undefined {
  for (const n of networks) {
    for (const ep of n.endpoints.values()) if (ep.joinInfo?.hostIfname === ifname && ep.sandbox !== undefined) return ep;
  }
  return undefined;
}

/**
 * Start watching every driver that can; returns the stop function, or undefined when a driver's watch could not start
 * (out of descriptors, say): then none runs, and the caller tries again later (the controller: at the next sandbox
 * create), rather than go on without noticing vanished interfaces.
 */
export function watchEndpointLinks(deps: LinkWatchDeps): (() => void) | undefined {
  let failed = false;
  const watches = deps.drivers.all().flatMap((d) => {
    if (d.watchEndpoints === undefined) return [];
    try {
      return [d.watchEndpoints(
        (ifname) => {
          const ep = endpointOfHostLink(deps.networks(), ifname);
          if (ep === undefined) return; // ours, already leaving, or not ours at all
          deps.logger.warn({ endpoint: ep.name, network: ep.network.name, sandbox: ep.sandbox?.id, link: ifname }, 'endpoint interface vanished: leaving and deleting the endpoint');
          void deps.drop(ep).catch((err: unknown) => deps.logger.warn({ err, endpoint: ep.name }, 'cleanup of a vanished endpoint failed'));
        },
        (err) => deps.logger.warn({ err, driver: d.name }, 'link events may have been lost'),
      )];
    } catch (err) {
      deps.logger.warn({ err, driver: d.name }, 'cannot watch link events yet: tried again at the next sandbox create');
      failed = true;
      return [];
    }
  });
  const stop = (): void => {
    for (const w of watches) w.close();
  };
  if (!failed) return stop;
  stop();
  return undefined;
}
