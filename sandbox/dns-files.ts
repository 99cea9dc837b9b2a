/**
 * Keeps a sandbox's hosts and resolv.conf in step with its lifecycle
 * (H1–H5, C1–C4) through etchosts/ and resolvconf/.
 */
import {
  addHostsRecords,
  buildHostsFile,
  hostsNamesFor,
  removeHostsRecords,
  type HostsRecord,
} from '../etchosts/index.js';
import {
  applyOverrides,
  hostOriginPath,
  loadResolvConf,
  renderResolvConf,
  SANDNS_HEADER,
  transformForInternalResolver,
  transformForLegacy,
  writeResolvConf,
  type ExtServer,
  type ResolvConf,
} from '../resolvconf/index.js';
import type { Logger } from '../common/log.js';

/** What the files need to know about a sandbox. */
export interface DnsFilesConfig {
  readonly hostsPath: string;
  readonly resolvConfPath: string;
  /** Where the digest of what sandns wrote is kept (C4); outside /etc/netns/<name>/, whose files `ip netns exec` bind-mounts. */
  readonly resolvConfHashPath: string;
  readonly originResolvConf: string;
  /** Directories created for this sandbox, removed with it when empty. */
  readonly ownedDirs: readonly string[];
  /**
   * Managed files that existed before the sandbox took them (L7): path →
   * where their original content is kept. They are put back, never deleted,
   * when the sandbox goes; every other managed file was created by sandns.
   */
  readonly originals?: Readonly<Record<string, string>> | undefined;
  /** No hostname: the hosts file gets no own lines (H2 needs a name to map). */
  readonly hostname?: string | undefined;
  readonly domainname?: string | undefined;
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  readonly dnsOptions: readonly string[];
  readonly extraHosts: readonly HostsRecord[];
  /** Resolution disabled: no 127.0.0.11, the legacy transform instead (C3). */
  readonly legacy: boolean;
}

/** Reads and parses an origin resolv.conf (one read shared by every sandbox of a refresh: originLoader). */
export type OriginLoader = (path: string) => Promise<ResolvConf>;

/** A loader that reads each origin path once, for a refresh of many sandboxes. */
export function originLoader(): OriginLoader {
  const read = new Map<string, Promise<ResolvConf>>();
  return (path) => {
    let conf = read.get(path);
    if (conf === undefined) read.set(path, (conf = loadResolvConf(path)));
    return conf;
  };
}

/** What the resolver takes from the generated resolv.conf. */
export interface ResolvConfResult {
  readonly extServers: readonly ExtServer[];
  readonly ndotsSet: boolean;
  /** False when the user edited the file and it was left alone (C4). */
  readonly written: boolean;
}

/** The sandbox's own hosts records for one endpoint's addresses (H2, as Docker). */
export function ownRecords(cfg: DnsFilesConfig, ipv4: string | undefined, ipv6: string | undefined, ipv6Enabled: boolean): HostsRecord[] {
  if (cfg.hostname === undefined) return [];
  const hosts = hostsNamesFor(cfg.hostname, cfg.domainname);
  const out: HostsRecord[] = [];
  if (ipv4 !== undefined) out.push({ ip: ipv4, hosts });
  if (ipv6 !== undefined && ipv6Enabled) out.push({ ip: ipv6, hosts });
  return out;
}

/** Write the initial hosts file: defaults and extra hosts (H1, H2). */
export async function writeInitialHosts(cfg: DnsFilesConfig, ipv6Enabled: boolean): Promise<void> {
  await buildHostsFile(cfg.hostsPath, { ipv6: ipv6Enabled, extra: cfg.extraHosts, own: [] });
}

/** Append an endpoint's own records on join (H3). */
export async function addOwnRecords(cfg: DnsFilesConfig, records: readonly HostsRecord[]): Promise<void> {
  if (records.length > 0) await addHostsRecords(cfg.hostsPath, records);
}

/** Delete an endpoint's own records on leave, matched by IP and names (H3). */
export async function removeOwnRecords(cfg: DnsFilesConfig, records: readonly HostsRecord[]): Promise<void> {
  if (records.length > 0) await removeHostsRecords(cfg.hostsPath, records);
}

/**
 * Build resolv.conf from the origin file and overrides and write it unless
 * the user modified it (C4; the check and the write are one queued step);
 * `fresh` (a sandbox being created) writes it in any case.
 * With the resolver: nameserver 127.0.0.11, every server an external one (C2).
 * Without (legacy, C3): loopback servers dropped, never a public fallback.
 * Always returns the external servers, so forwarding is right either way.
 */
export async function syncResolvConf(
  cfg: DnsFilesConfig,
  ipv6: boolean,
  logger: Logger,
  networkDns: readonly string[] = [],
  load: OriginLoader = loadResolvConf,
  fresh = false,
): Promise<ResolvConfResult> {
  const origin = cfg.legacy ? await hostOriginPath(cfg.originResolvConf) : cfg.originResolvConf;
  // The sandbox's own servers win; else its network's; both are overrides, queried from inside the sandbox (R11).
  const servers = cfg.dns.length > 0 ? cfg.dns : networkDns;
  const overridden = applyOverrides(await load(origin), {
    ...(servers.length > 0 ? { nameservers: [...servers] } : {}),
    ...(cfg.dnsSearch.length > 0 ? { search: [...cfg.dnsSearch] } : {}),
    ...(cfg.dnsOptions.length > 0 ? { options: [...cfg.dnsOptions] } : {}),
  });
  let conf: ResolvConf;
  let extServers: readonly ExtServer[] = [];
  let ndotsSet = false;
  if (cfg.legacy) {
    const legacy = transformForLegacy(overridden, { ipv6 });
    if (legacy.noUsableNameservers) logger.warn({ origin }, 'no usable nameserver left for a sandbox without the resolver');
    conf = legacy;
  } else {
    ({ conf, extServers, ndotsSet } = transformForInternalResolver(overridden, {}));
    if (extServers.length === 0) logger.warn('DNS resolver has no external nameservers');
  }
  const written = await writeResolvConf(cfg.resolvConfPath, renderResolvConf(conf, { header: SANDNS_HEADER }), {
    hashPath: cfg.resolvConfHashPath,
    // A new sandbox's file is written whatever a hash file left by anything before it says (Docker writes it
    // unconditionally at sandbox creation too).
    skipIfUserModified: !fresh,
  });
  if (!written) logger.info({ path: cfg.resolvConfPath }, 'resolv.conf was modified by the user; leaving it alone');
  return { extServers, ndotsSet, written };
}
