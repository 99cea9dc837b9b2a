/**
 * Applies bridge plans with iproute2 (`ip -batch -`), on the host and inside
 * sandboxes (through nsenter, which accepts any netns path, external keys
 * included). Why iproute2 and not netlink: see the README's design notes.
 */
import { ip, ipBatch, ipBatchInNetns, ipJson, runInNetns } from '../../../common/io/exec.js';
/** Run host-namespace lines. */
export async function applyHost(lines) {
    if (lines.length > 0)
        await ipBatch(lines);
}
/** Run sandbox-namespace lines. */
export async function applySandbox(netnsPath, lines) {
    if (lines.length > 0)
        await ipBatchInNetns(netnsPath, lines);
}
/** True when a link of that name exists in the host namespace. */
export async function linkExists(name) {
    try {
        await ip(['link', 'show', 'dev', name]);
        return true;
    }
    catch {
        return false;
    }
}
/** Delete a host link if it exists (idempotent). */
export async function deleteLinkIfExists(name) {
    if (await linkExists(name)) {
        await ip(['link', 'del', 'dev', name]).catch(async (err) => {
            if (await linkExists(name))
                throw err;
        });
    }
}
/** MAC address of an interface inside a sandbox. */
export async function sandboxLinkMac(netnsPath, ifname) {
    const { stdout } = await runInNetns(netnsPath, 'ip', ['-j', 'link', 'show', 'dev', ifname]);
    const links = JSON.parse(stdout);
    return links[0]?.address ?? '';
}
/** Every host link with its bridge (master), if any. */
export async function hostLinks() {
    return ipJson(['link', 'show']);
}
/** Names of the host links whose names start with `prefix`. */
export async function hostLinksWithPrefix(prefix) {
    const links = await ipJson(['link', 'show']);
    return links.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}
//# sourceMappingURL=links.js.map