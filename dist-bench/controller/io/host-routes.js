/**
 * The host's IPv4 routes (to pick a default subnet that clashes with nothing).
 */
import { ipJson } from '../../common/io/exec.js';
/** Destinations of the host's IPv4 routes, as CIDRs (the default route excluded). */
export async function hostRouteCidrs() {
    const routes = await ipJson(['-4', 'route', 'show', 'table', 'all']).catch(() => []);
    return routes
        .map((r) => r.dst ?? '')
        .filter((d) => d !== '' && d !== 'default' && /^\d/.test(d))
        .map((d) => (d.includes('/') ? d : `${d}/32`));
}
//# sourceMappingURL=host-routes.js.map