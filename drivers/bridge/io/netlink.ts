/**
 * Executes bridge plans over rtnetlink (rtnetlink(7)) with the `netlink`
 * package: on the daemon's own namespace through its shared socket, inside a
 * sandbox through a socket created there (common/io/rtnetlink.ts). No process
 * is spawned. Each operation kind has one handler; the table is typed by
 * kind, so a new plan operation does not compile until it has a handler.
 * Failures become ERR_NETLINK_FAILED naming the operation as its iproute2
 * line (renderOp), the errno and the namespace.
 */
import { crashPoint } from '../../../common/crash.js';
import { closeSync, openSync } from 'node:fs';
import { Address4, Address6 } from 'ip-address';
import type { ifla, rt, StreamData } from 'netlink';
import { canonicalIp } from '../../../common/ip.js';
import { NetlinkError, netlinkErrno, netlinkLib, withNetlink, type RtNetlinkSocket } from '../../../common/io/rtnetlink.js';
import { renderOp, type LinkOp, type LinkOpKind } from '../plan.js';
import { countersOf, type LinkCounters } from '../stats.js';

/** Where operations run: null is the daemon's own namespace, else a namespace path. */
export type Netns = string | null;

/**
 * One execution: the socket, its namespace, the links looked up so far (dropped once changed) and their indexes
 * (kept until the link is deleted: changing a link's attributes or state keeps its index).
 */
interface Ctx {
  readonly nl: RtNetlinkSocket;
  readonly netns: Netns;
  readonly links: Map<string, rt.LinkMessage>;
  readonly indexes: Map<string, number>;
}

/** NLM_F_CREATE | NLM_F_EXCL, and NLM_F_CREATE | NLM_F_REPLACE (linux/netlink.h). */
const CREATE = 0x400 | 0x200;
const REPLACE = 0x400 | 0x100;
/** AF_BRIDGE (linux/socket.h): the neighbour family of forwarding-database entries. */
const AF_BRIDGE = 7;
/** RT_TABLE_MAIN (linux/rtnetlink.h). */
const TABLE_MAIN = 254;
/** IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS: link replies without counters (a quarter of the bytes). */
const SKIP_STATS = Buffer.from(new Uint32Array([1 << 3]).buffer);

function toBuf(data: StreamData): Buffer {
  const s = new (netlinkLib().AttrStream)();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

/** An address's bytes and family (AF_INET 2, AF_INET6 10). */
export function ipBytes(address: string): { family: 2 | 10; bytes: Buffer } {
  if (address.includes(':')) return { family: 10, bytes: Buffer.from(new Address6(address).canonicalForm().replace(/:/g, ''), 'hex') };
  return { family: 2, bytes: Buffer.from(new Address4(address).toArray()) };
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

/** A MAC address as aa:bb:cc:dd:ee:ff. */
export function macString(bytes: Buffer | undefined): string {
  return bytes === undefined ? '' : [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The link called `name` in ctx's namespace (cached for this execution); ENODEV when missing. */
async function linkOf(ctx: Ctx, name: string): Promise<rt.LinkMessage> {
  const cached = ctx.links.get(name);
  if (cached !== undefined) return cached;
  const [link] = await ctx.nl.getLink({}, { ifname: name, extMask: SKIP_STATS });
  if (link === undefined) throw Object.assign(new Error(`no link ${name}`), { code: 'ENODEV' });
  ctx.links.set(name, link);
  return link;
}

async function indexOf(ctx: Ctx, name: string): Promise<number> {
  let index = ctx.indexes.get(name);
  if (index === undefined) ctx.indexes.set(name, (index = (await linkOf(ctx, name)).data.index ?? 0));
  return index;
}

type Handlers = { readonly [K in LinkOpKind]: (ctx: Ctx, op: Extract<LinkOp, { kind: K }>) => Promise<unknown> };

const HANDLERS: Handlers = {
  'bridge-add': (ctx, op) =>
    ctx.nl.newLink({}, {
      ifname: op.name, ...(op.mtu === undefined ? {} : { mtu: op.mtu }), ...(op.address === undefined ? {} : { address: macBytes(op.address) }),
      linkinfo: toBuf(netlinkLib().ifla.formatInfo({ kind: 'bridge' })),
    }, { flags: CREATE }),

  async 'veth-add'(ctx, op) {
    const master = op.master === undefined ? {} : { master: await indexOf(ctx, op.master) };
    const fd = openSync(op.peerNetns, 'r');
    try {
      const mtu = op.mtu === undefined ? {} : { mtu: op.mtu };
      const up = op.up === true ? { change: { up: true as const }, flags: { up: true as const } } : {};
      const address = op.peerAddress === undefined ? {} : { address: macBytes(op.peerAddress) };
      const { ifla, rt } = netlinkLib();
      const peer = Buffer.concat([rt.formatLink({}), toBuf(ifla.formatLinkAttrs({ ifname: op.peer, netNsFd: fd, ...mtu, ...address }))]);
      const linkinfo = toBuf(ifla.formatInfo({ kind: 'veth', data: toBuf(ifla.formatVethInfo({ peer })) }));
      await ctx.nl.newLink(up, { ifname: op.name, ...mtu, ...master, linkinfo }, { flags: CREATE });
    } finally {
      closeSync(fd);
    }
  },

  async 'link-set'(ctx, op) {
    const index = ctx.indexes.get(op.dev) ?? (await indexOf(ctx, op.dev)); // a known index: sent at once (applyOps, pipelined)
    const attrs: ifla.LinkAttrs = {};
    if (op.master !== undefined) attrs.master = await indexOf(ctx, op.master);
    if (op.mtu !== undefined) attrs.mtu = op.mtu;
    if (op.address !== undefined) attrs.address = macBytes(op.address);
    if (op.alias !== undefined) attrs.ifalias = op.alias;
    const updown = op.up === undefined ? {} : { change: { up: true as const }, flags: op.up ? { up: true as const } : {} };
    ctx.links.delete(op.dev); // its attributes change
    await ctx.nl.setLink({ index, ...updown }, attrs);
  },

  async 'port-set'(ctx, op) {
    // RTM_NEWLINK without NLM_F_CREATE changes the existing link; the kernel hands IFLA_INFO_SLAVE_DATA to the
    // port's master (br_port_slave_changelink), so the link must already be a bridge port. RTM_SETLINK would
    // ignore IFLA_LINKINFO. The request is the one `ip link set dev X type bridge_slave hairpin on` sends. The link
    // is named (ifi_index 0 with IFLA_IFNAME: rtnl_newlink looks the name up and renames nothing), so no lookup first.
    const { ifla } = netlinkLib();
    const mode = op.hairpin ? ifla.BridgePortMode.HAIRPIN : ifla.BridgePortMode.UNSPEC;
    const linkinfo = toBuf(ifla.formatInfo({ slaveKind: 'bridge', slaveData: toBuf(ifla.formatBridgePort({ mode })) }));
    ctx.links.delete(op.dev); // its attributes change
    await ctx.nl.newLink({}, { ifname: op.dev, linkinfo });
  },

  async 'link-del'(ctx, op) {
    ctx.links.delete(op.dev);
    ctx.indexes.delete(op.dev);
    try {
      await ctx.nl.delLink({}, { ifname: op.dev }); // by name: rtnl_dellink looks IFLA_IFNAME up
    } catch (err) {
      if (!(op.ifExists === true && netlinkErrno(err) === 'ENODEV')) throw err;
    }
  },

  async 'addr-add'(ctx, op) {
    const { family, bytes } = ipBytes(op.address);
    const index = ctx.indexes.get(op.dev) ?? (await indexOf(ctx, op.dev));
    await ctx.nl.newAddress(
      { family, prefixlen: op.prefixLen, index, ...(op.nodad === true ? { flags: { nodad: true } } : {}) },
      { local: bytes, address: bytes },
      { flags: CREATE },
    );
  },

  async 'vxlan-add'(ctx, op) {
    const { ifla } = netlinkLib();
    const { family, bytes } = ipBytes(op.local);
    const port = Buffer.alloc(2);
    port.writeUInt16BE(op.port);
    const data = toBuf(ifla.formatVxlan({ id: op.vni, ...(family === 2 ? { local: bytes } : { local6: bytes }), learning: 0, proxy: 1, port }));
    const linkinfo = toBuf(ifla.formatInfo({ kind: 'vxlan', data }));
    const address = op.address === undefined ? {} : { address: macBytes(op.address) };
    await ctx.nl.newLink({}, { ifname: op.name, ...(op.mtu === undefined ? {} : { mtu: op.mtu }), ...address, linkinfo }, { flags: CREATE });
  },

  async 'fdb-set'(ctx, op) {
    const ifindex = await indexOf(ctx, op.dev);
    await ctx.nl.newNeighbor(
      { family: AF_BRIDGE, ifindex, state: { permanent: true }, flags: { self: true } },
      { lladdr: macBytes(op.mac), dst: ipBytes(op.dst).bytes },
      { flags: REPLACE },
    );
  },

  async 'fdb-del'(ctx, op) {
    const ifindex = await indexOf(ctx, op.dev);
    try {
      await ctx.nl.delNeighbor({ family: AF_BRIDGE, ifindex, flags: { self: true } }, { lladdr: macBytes(op.mac), dst: ipBytes(op.dst).bytes });
    } catch (err) {
      if (netlinkErrno(err) !== 'ENOENT') throw err;
    }
  },

  async 'neigh-set'(ctx, op) {
    const ifindex = await indexOf(ctx, op.dev);
    const { family, bytes } = ipBytes(op.address);
    await ctx.nl.newNeighbor({ family, ifindex, state: { permanent: true } }, { dst: bytes, lladdr: macBytes(op.mac) }, { flags: REPLACE });
  },

  async 'neigh-del'(ctx, op) {
    const ifindex = await indexOf(ctx, op.dev);
    const { family, bytes } = ipBytes(op.address);
    try {
      await ctx.nl.delNeighbor({ family, ifindex }, { dst: bytes });
    } catch (err) {
      if (netlinkErrno(err) !== 'ENOENT') throw err;
    }
  },

  async 'route-default'(ctx, op) {
    const { family, bytes } = ipBytes(op.gateway);
    const oif = ctx.indexes.get(op.dev) ?? (await indexOf(ctx, op.dev));
    await ctx.nl.newRoute(
      { family, dstLen: 0, table: TABLE_MAIN, protocol: 'BOOT', scope: 'UNIVERSE', type: 'UNICAST' },
      { gateway: bytes, oif },
      { flags: REPLACE },
    );
  },
};

async function runOp(ctx: Ctx, op: LinkOp): Promise<void> {
  try {
    await (HANDLERS[op.kind] as (c: Ctx, o: LinkOp) => Promise<unknown>)(ctx, op);
  } catch (err) {
    throw new NetlinkError(renderOp(op), netlinkErrno(err), { cause: err, ...(ctx.netns === null ? {} : { netns: ctx.netns }) });
  }
}

/**
 * Run `ops` in order in `netns`, then `read` (if given) on the same socket.
 * Stops at the first failure (ERR_NETLINK_FAILED); the caller unwinds (G10).
 * `pipelined`: every request is sent before any answer is awaited (runPipelined;
 * link-set without master, addr-add and route-default only), and the first
 * failure in plan order is thrown once all have answered.
 */
export async function applyOps<T = void>(
  netns: Netns, ops: readonly LinkOp[], read?: (lookup: (name: string) => Promise<rt.LinkMessage>) => Promise<T>, pipelined = false,
): Promise<T | undefined> {
  if (ops.length === 0 && read === undefined) return undefined;
  return withNetlink(netns, async (nl) => {
    const ctx: Ctx = { nl, netns, links: new Map(), indexes: new Map() };
    if (pipelined) await runPipelined(ctx, ops);
    else {
      for (const op of ops) {
        await runOp(ctx, op);
        crashPoint('kernel-changed');
      }
    }
    return read === undefined ? undefined : read((name) => linkOf(ctx, name));
  });
}

/** The link kinds a pipelined plan may hold: each sends its request at once when its link's index is known. */
const PIPELINABLE: ReadonlySet<LinkOpKind> = new Set(['link-set', 'addr-add', 'route-default']);

/**
 * Every request of `ops` sent before the first acknowledgement is read: the indexes they name are looked up first,
 * then each handler sends at once. The kernel handles one socket's requests in order, each inside its sendmsg(2),
 * so the effect is the sequential one; only the waits between them go (a join's sandbox side: address, up, routes,
 * one turn of the event loop instead of one per step). For plans whose steps touch only links the plan's caller made
 * (a failure leaves nothing foreign changed); the first failure in plan order is thrown once all have answered.
 */
async function runPipelined(ctx: Ctx, ops: readonly LinkOp[]): Promise<void> {
  for (const op of ops) {
    if (!PIPELINABLE.has(op.kind) || ('master' in op && op.master !== undefined)) throw new Error(`applyOps: ${op.kind} cannot be pipelined`);
    await indexOf(ctx, (op as { dev: string }).dev);
  }
  const results = await Promise.allSettled(ops.map((op) => runOp(ctx, op)));
  for (const r of results) {
    crashPoint('kernel-changed');
    if (r.status === 'rejected') throw r.reason;
  }
}

/** True when a link of that name exists in `netns`. */
export async function linkExists(name: string, netns: Netns = null): Promise<boolean> {
  return withNetlink(netns, async (nl) => {
    try {
      return (await nl.getLink({}, { ifname: name, extMask: SKIP_STATS })).length > 0;
    } catch (err) {
      if (netlinkErrno(err) === 'ENODEV') return false;
      throw new NetlinkError(`link show ${name}`, netlinkErrno(err), { cause: err });
    }
  });
}

/** The ifalias and MAC address (aa:bb:..) of a host link; undefined when the link is absent. */
export async function linkMarks(name: string): Promise<{ alias: string | undefined; mac: string } | undefined> {
  return withNetlink(null, async (nl) => {
    try {
      const [link] = await nl.getLink({}, { ifname: name, extMask: SKIP_STATS });
      return link === undefined ? undefined : { alias: link.attrs.ifalias, mac: macString(link.attrs.address) };
    } catch {
      return undefined;
    }
  });
}

/** The ifalias of a host link; undefined when the link or its alias is absent. */
export async function linkAlias(name: string): Promise<string | undefined> {
  return (await linkMarks(name))?.alias;
}

/** Delete a link of the daemon's namespace if it exists (idempotent). */
export async function deleteLinkIfExists(name: string): Promise<void> {
  await applyOps(null, [{ kind: 'link-del', dev: name, ifExists: true }]);
}

/** Every link of the daemon's namespace with its bridge (master), if any: one dump. */
export async function hostLinks(): Promise<{ ifname: string; master?: string }[]> {
  return withNetlink(null, async (nl) => {
    let links: rt.LinkMessage[];
    try {
      links = await nl.getLinks({}, { extMask: SKIP_STATS });
    } catch (err) {
      throw new NetlinkError('link show', netlinkErrno(err), { cause: err });
    }
    const names = new Map(links.map((l) => [l.data.index ?? 0, l.attrs.ifname ?? '']));
    return links.map((l) => {
      const master = l.attrs.master === undefined ? undefined : names.get(l.attrs.master);
      return { ifname: l.attrs.ifname ?? '', ...(master === undefined ? {} : { master }) };
    });
  });
}

/**
 * Counters of every link of the daemon's namespace, by name: one RTM_GETLINK dump with IFLA_STATS64 (no file of
 * /proc/net, whose namespace is the main thread's, which callInNetns may have switched for a moment).
 */
export async function hostLinkCounters(): Promise<Map<string, LinkCounters>> {
  return withNetlink(null, async (nl) => {
    let links: rt.LinkMessage[];
    try {
      links = await nl.getLinks({}, {});
    } catch (err) {
      throw new NetlinkError('-s link show', netlinkErrno(err), { cause: err });
    }
    const out = new Map<string, LinkCounters>();
    for (const l of links) {
      if (l.attrs.ifname !== undefined && l.attrs.stats64 !== undefined) out.set(l.attrs.ifname, countersOf(l.attrs.stats64));
    }
    return out;
  });
}

/** An address's text from its bytes (4 or 16). */
function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const text = Address6.fromUnsignedByteArray([...bytes]).correctForm();
  return canonicalIp(text) ?? text;
}

/** The entries sandns programs on a VXLAN device: forwarding (MAC → VTEP) and neighbour (IP → MAC) entries. */
export interface VxlanEntries {
  readonly fdb: { readonly mac: string; readonly dst: string }[];
  readonly neigh: { readonly address: string; readonly mac: string }[];
}

/**
 * The permanent entries of the VXLAN device `dev` (of the daemon's namespace, or `netns`), as the kernel has them now: its own
 * forwarding entries with a remote (NTF_SELF, NDA_DST) and its IPv4/IPv6 neighbour entries. Undefined when the
 * device does not exist. Three dumps on one socket.
 */
export async function vxlanEntries(dev: string, netns: Netns = null): Promise<VxlanEntries | undefined> {
  return withNetlink(netns, async (nl) => {
    let index: number;
    try {
      const [link] = await nl.getLink({}, { ifname: dev, extMask: SKIP_STATS });
      if (link === undefined) return undefined;
      index = link.data.index ?? 0;
    } catch (err) {
      if (netlinkErrno(err) === 'ENODEV') return undefined;
      throw new NetlinkError(`link show ${dev}`, netlinkErrno(err), { cause: err });
    }
    try {
      const fdb = (await nl.getNeighbors({ family: AF_BRIDGE, ifindex: index }))
        .filter((m) => m.data.ifindex === index && m.data.flags?.self === true && m.attrs.dst !== undefined && m.attrs.lladdr !== undefined)
        .map((m) => ({ mac: macString(m.attrs.lladdr), dst: ipText(m.attrs.dst!) }));
      const neigh = [];
      for (const family of [2, 10]) {
        for (const m of await nl.getNeighbors({ family, ifindex: index })) {
          if (m.data.ifindex !== index || m.data.state?.permanent !== true || m.attrs.dst === undefined || m.attrs.lladdr === undefined) continue;
          neigh.push({ address: ipText(m.attrs.dst), mac: macString(m.attrs.lladdr) });
        }
      }
      return { fdb, neigh };
    } catch (err) {
      throw new NetlinkError(`neigh show dev ${dev}`, netlinkErrno(err), { cause: err });
    }
  });
}

/** The MTU of the link (of the daemon's namespace, or `netns`) that holds `address` (the underlay of a VTEP); undefined when none does. */
export async function mtuOfAddress(address: string, netns: Netns = null): Promise<number | undefined> {
  const { family, bytes } = ipBytes(address);
  return withNetlink(netns, async (nl) => {
    try {
      const addrs = await nl.getAddresses({ family });
      const hit = addrs.find((a) => (a.attrs.local ?? a.attrs.address)?.equals(bytes) === true);
      if (hit === undefined) return undefined;
      const [link] = await nl.getLink({ index: hit.data.index ?? 0 }, { extMask: SKIP_STATS });
      return link?.attrs.mtu;
    } catch (err) {
      throw new NetlinkError(`addr show to ${address}`, netlinkErrno(err), { cause: err });
    }
  });
}
