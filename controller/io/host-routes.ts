/**
 * The host's IPv4 routes (to pick a default subnet that clashes with nothing).
 */
import { ipJson } from '../../common/io/exec.js';

/** Destinations of the host's IPv4 routes, as CIDRs (the default route excluded). */
export async function hostRouteCidrs(): Promise<string[]> {
  const routes = await ipJson<{ dst?: string }[]>(['-4', 'route', 'show', 'table', 'all']).catch(() => []);
  return routes
    .map((r) => r.dst ?? '')
    .filter((d) => d !== '' && d !== 'default' && /^\d/.test(d))
    .map((d) => (d.includes('/') ? d : `${d}/32`));
}
