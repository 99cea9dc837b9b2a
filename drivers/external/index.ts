/**
 * ExternalDriver: a network whose links sandns does not manage, as
 * libnetwork's `null`/remote drivers and the CNI chained mode need. Another
 * party (a CNI bridge plugin, macvlan ...) made the interface and gave the
 * addresses; sandns keeps the model, the records and the DNS. join makes no
 * link, reads the interface's MAC when it exists, and leave removes nothing.
 */
import { InvalidOptionError } from '../../common/errors.js';
import type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork } from '../driver.js';
import { inspectSandboxLink, sandboxLinkProblems } from '../io/sandbox-link.js';

/** The external driver. */
export class ExternalDriver implements Driver {
  readonly name = 'external';

  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    const key = Object.keys(raw)[0];
    if (key !== undefined) throw new InvalidOptionError(key, 'the external driver takes no options (its links belong to someone else)');
    return {};
  }

  /** Nothing of the kernel's is made for an external network, so no name can be taken (L4). */
  async checkNetworkFree(): Promise<void> {}

  async createNetwork(): Promise<void> {}

  /** Nothing was made, so nothing is undone. */
  async discardNetwork(): Promise<boolean> {
    return true;
  }

  async deleteNetwork(): Promise<void> {}

  async join(join: DriverJoin): Promise<DriverJoinInfo> {
    const link = await inspectSandboxLink(join.netnsPath, join.ifname);
    return { hostIfname: '', ifname: join.ifname, mac: link?.mac ?? '' };
  }

  async leave(): Promise<void> {}

  async setDefaultRoute(): Promise<void> {}

  async networkExists(): Promise<boolean> {
    return true;
  }

  async endpointsPresent(_net: DriverNetwork, infos: readonly DriverJoinInfo[]): Promise<boolean[]> {
    return infos.map(() => true);
  }

  async releaseEndpoint(): Promise<void> {}

  async reconcileEndpoints(): Promise<{ removed: string[]; reattached: string[] }> {
    return { removed: [], reattached: [] };
  }

  async linkProblems(_net: DriverNetwork, info: DriverJoinInfo, netnsPath: string, addresses: readonly string[]): Promise<string[]> {
    return sandboxLinkProblems(netnsPath, info.ifname, addresses);
  }
}
