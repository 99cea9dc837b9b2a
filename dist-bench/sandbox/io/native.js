/**
 * The optional native helper (native/netns_socket.c): creates a socket inside
 * another network namespace in ~0.1 ms, without a child process. Built by
 * `npm run build:native` (scripts/setup.sh does it); when it is missing, or
 * SANDNS_NO_NATIVE=1, callers fall back to an nsenter child.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
let loaded;
/** Find native/build/Release/netns_socket.node from here (source tree or dist/). */
function addonPath() {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 6; i++) {
        const p = join(dir, 'native', 'build', 'Release', 'netns_socket.node');
        if (existsSync(p))
            return p;
        dir = dirname(dir);
    }
    return undefined;
}
/** The native socketInNetns, or undefined when it is not built or disabled. */
export function nativeSocketInNetns() {
    if (process.env.SANDNS_NO_NATIVE === '1')
        return undefined;
    if (loaded !== undefined)
        return loaded ?? undefined;
    loaded = null;
    const p = addonPath();
    if (p === undefined)
        return undefined;
    try {
        const mod = createRequire(import.meta.url)(p);
        loaded = mod.socketInNetns;
    }
    catch {
        loaded = null;
    }
    return loaded ?? undefined;
}
//# sourceMappingURL=native.js.map