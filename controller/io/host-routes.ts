/**
 * The host's IPv4 routes (to pick a default subnet that clashes with nothing):
 * one RTM_GETROUTE dump over rtnetlink, every table.
 */
import { withNetlink } from '../../common/io/rtnetlink.js';

/** AF_INET. */
const AF_INET = 2;

/** Destinations of the host's IPv4 routes, as CIDRs (the default route excluded). */
export async function hostRouteCidrs(): Promise<string[]> {
  const routes = await withNetlink(null, (nl) => nl.getRoutes({ family: AF_INET })).catch(() => []);
  return routes
    .filter((r) => r.data.family === AF_INET && (r.data.dstLen ?? 0) > 0 && r.attrs.dst !== undefined && r.attrs.dst.length === 4)
    .map((r) => `${[...r.attrs.dst!].join('.')}/${r.data.dstLen}`);
}
