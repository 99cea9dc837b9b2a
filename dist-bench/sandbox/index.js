/**
 * Sandbox public door: a container's namespace with its managed files and
 * its DNS listener, wired to the real OS here (G3: index.ts wires io/).
 */
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createForwardingStages, createResolver, hostDialer, ResolverMetrics, } from '../resolver/index.js';
import { netnsDialer } from './io/dialer.js';
import { acquireSandboxSockets } from './io/bind.js';
import { bringLoUp, createNetns, deleteNetns, netnsAlive, netnsPathFor } from './io/netns.js';
import { netnsIpv6Enabled } from './io/ipv6.js';
import { SandboxRuntime } from './sandbox.js';
import { NetnsError } from './errors.js';
export { SandboxRuntime } from './sandbox.js';
export { sortEndpoints, compareEndpoints } from './order.js';
export { NetnsError, SocketAcquireError, SANDBOX_ERROR_CODES } from './errors.js';
export { acquireSandboxSockets } from './io/bind.js';
export { netnsAlive, netnsMounted, netnsPathFor, deleteNetns } from './io/netns.js';
async function adoptKey(path) {
    if (!(await netnsAlive(path)))
        throw new NetnsError(path, 'the external key is not a network namespace');
    await bringLoUp(path);
    return path;
}
/** Create or adopt the namespace, write the files, and return the runtime. */
export async function openSandbox(opts) {
    const ownsNetns = opts.netnsPath === undefined && opts.pending !== true;
    let netnsPath = '';
    if (opts.restore !== undefined) {
        netnsPath = opts.netnsPath ?? (ownsNetns ? netnsPathFor(opts.netnsName ?? opts.id) : ''); // alive: checked by the caller
    }
    else if (ownsNetns) {
        netnsPath = await createNetns(opts.netnsName ?? opts.id);
    }
    else if (opts.netnsPath !== undefined) {
        netnsPath = await adoptKey(opts.netnsPath);
    }
    const logger = opts.logger.child({ sandbox: opts.id });
    const io = {
        // A pending sandbox writes its hosts file before it has a namespace: a new one has IPv6 on (Docker H11).
        ipv6Enabled: () => (netnsPath === '' ? Promise.resolve(true) : netnsIpv6Enabled(netnsPath)),
        async startResolver(view) {
            const sockets = await acquireSandboxSockets(netnsPath);
            const metrics = new ResolverMetrics(opts.id);
            const fwd = opts.forwarding === false || opts.forwarding === undefined ? undefined : opts.forwarding;
            const forwarding = fwd === undefined ? undefined : createForwardingStages({
                view, logger, metrics, cache: fwd.cache,
                // Host-origin servers from the controller's namespace; the sandbox's own `dns` from inside it (R11).
                dialers: { host: hostDialer, sandbox: netnsDialer(netnsPath) },
                ...(fwd.options ? { options: fwd.options } : {}),
            });
            const resolver = createResolver({ view, logger, metrics, stages: [...(forwarding?.stages ?? [])] });
            resolver.serve(sockets);
            return {
                metrics: resolver.metrics,
                async close() {
                    await resolver.close();
                    await forwarding?.close();
                },
            };
        },
    };
    const runtime = new SandboxRuntime(opts.id, opts.files, io, logger);
    const destroy = async () => {
        await runtime.close();
        if (ownsNetns)
            await deleteNetns(opts.netnsName ?? opts.id);
        await removeFiles(opts.files);
    };
    try {
        await (opts.restore === undefined ? runtime.init() : runtime.adopt(opts.restore));
    }
    catch (err) {
        if (opts.restore === undefined)
            await destroy().catch(() => undefined);
        throw err;
    }
    return {
        runtime, ownsNetns, destroy,
        get netnsPath() {
            return netnsPath;
        },
        async setKey(path) {
            netnsPath = await adoptKey(path);
        },
        async clearKey() {
            await runtime.close();
            netnsPath = '';
        },
    };
}
/** Remove what a sandbox that is not coming back left (L3 restore): its owned namespace, if named, and its files. */
export async function discardSandbox(netnsName, files) {
    if (netnsName !== undefined)
        await deleteNetns(netnsName);
    await removeFiles(files);
}
async function removeFiles(files) {
    for (const p of [files.hostsPath, files.resolvConfPath, files.resolvConfHashPath]) {
        await rm(p, { force: true });
    }
    // Directories sandns made for the sandbox go too, when empty; a caller's own directories stay.
    for (const d of new Set([dirname(files.hostsPath), dirname(files.resolvConfPath), dirname(files.resolvConfHashPath)])) {
        if (files.ownedDirs.includes(d))
            await rmdir(d).catch(() => undefined);
    }
}
/** Default namespace path for a sandbox name. */
export function defaultNetnsPath(name) {
    return netnsPathFor(name);
}
//# sourceMappingURL=index.js.map