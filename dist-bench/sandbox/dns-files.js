/**
 * Keeps a sandbox's hosts and resolv.conf in step with its lifecycle
 * (H1–H5, C1–C4) through etchosts/ and resolvconf/.
 */
import { addHostsRecords, buildHostsFile, hostsNamesFor, removeHostsRecords, } from '../etchosts/index.js';
import { applyOverrides, hostOriginPath, loadResolvConf, renderResolvConf, SANDNS_HEADER, transformForInternalResolver, transformForLegacy, writeResolvConf, } from '../resolvconf/index.js';
/** The sandbox's own hosts records for one endpoint's addresses (H2, Docker H10). */
export function ownRecords(cfg, ipv4, ipv6, ipv6Enabled) {
    const hosts = hostsNamesFor(cfg.hostname, cfg.domainname);
    const out = [];
    if (ipv4 !== undefined)
        out.push({ ip: ipv4, hosts });
    if (ipv6 !== undefined && ipv6Enabled)
        out.push({ ip: ipv6, hosts });
    return out;
}
/** Write the initial hosts file: defaults and extra hosts (H1, H2). */
export async function writeInitialHosts(cfg, ipv6Enabled) {
    await buildHostsFile(cfg.hostsPath, { ipv6: ipv6Enabled, extra: cfg.extraHosts, own: [] });
}
/** Append an endpoint's own records on join (H3). */
export async function addOwnRecords(cfg, records) {
    if (records.length > 0)
        await addHostsRecords(cfg.hostsPath, records);
}
/** Delete an endpoint's own records on leave, matched by IP and names (H3). */
export async function removeOwnRecords(cfg, records) {
    if (records.length > 0)
        await removeHostsRecords(cfg.hostsPath, records);
}
/**
 * Build resolv.conf from the origin file and overrides and write it unless
 * the user modified it (C4; the check and the write are one queued step).
 * With the resolver: nameserver 127.0.0.11, every server an external one (C2).
 * Without (legacy, C3): loopback servers dropped, never a public fallback.
 * Always returns the external servers, so forwarding is right either way.
 */
export async function syncResolvConf(cfg, ipv6, logger) {
    const origin = cfg.legacy ? await hostOriginPath(cfg.originResolvConf) : cfg.originResolvConf;
    const overridden = applyOverrides(await loadResolvConf(origin), {
        ...(cfg.dns.length > 0 ? { nameservers: [...cfg.dns] } : {}),
        ...(cfg.dnsSearch.length > 0 ? { search: [...cfg.dnsSearch] } : {}),
        ...(cfg.dnsOptions.length > 0 ? { options: [...cfg.dnsOptions] } : {}),
    });
    let conf;
    let extServers = [];
    let ndotsSet = false;
    if (cfg.legacy) {
        const legacy = transformForLegacy(overridden, { ipv6 });
        if (legacy.noUsableNameservers)
            logger.warn({ origin }, 'no usable nameserver left for a sandbox without the resolver');
        conf = legacy;
    }
    else {
        ({ conf, extServers, ndotsSet } = transformForInternalResolver(overridden, {}));
        if (extServers.length === 0)
            logger.warn('DNS resolver has no external nameservers');
    }
    const written = await writeResolvConf(cfg.resolvConfPath, renderResolvConf(conf, { header: SANDNS_HEADER }), {
        hashPath: cfg.resolvConfHashPath,
        skipIfUserModified: true,
    });
    if (!written)
        logger.info({ path: cfg.resolvConfPath }, 'resolv.conf was modified by the user; leaving it alone');
    return { extServers, ndotsSet, written };
}
//# sourceMappingURL=dns-files.js.map