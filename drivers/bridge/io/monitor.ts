/**
 * Link events (rtnetlink(7) multicast group RTNLGRP_LINK) of the daemon's own
 * namespace: the kernel tells us when a link goes, so nothing polls. A veth
 * pair dies with either end: its sandbox end deleted, or its sandbox's
 * namespace destroyed, removes the host end too, and that is what we hear.
 */
import type { NetlinkMessage } from 'netlink';
import { netlinkLib } from '../../../common/io/rtnetlink.js';
import { requireNativeHelper } from '../../../common/io/native.js';

/** RTM_DELLINK (linux/rtnetlink.h). */
const RTM_DELLINK = 17;

/** A running subscription. */
export interface LinkWatch {
  close(): void;
}

/** Receive buffer: room for the events of a burst of link changes (capped by net.core.rmem_max). */
const RECV_BUFFER = 4 << 20;

/**
 * Call `onDeleted(ifname)` for every link deleted in this namespace, until close(). Never keeps the process alive.
 * The socket is NETLINK_NO_ENOBUFS: a burst of link changes (hundreds of veths deleted at once) that overflows its
 * receive queue drops events instead of leaving an error pending on the socket, which netlink@0.3.0 turns into a
 * process abort (an exception thrown from its libuv poll callback). A dropped deletion is then not heard: the
 * endpoint stays until its sandbox goes, or until the next restore's check of its veth. The kernel keeps only
 * RTM_DELLINK for this socket (a socket filter): adding one port to a bridge of N ports notifies about 2N links,
 * which the daemon would otherwise receive, parse and drop (at 1,000 sandboxes, ~2,000 messages per connect: most
 * of a connect's time, and a queue that overflows and loses the deletions that matter).
 */
/** The address family of the kernel's bridge-port messages (linux/socket.h). */
const AF_BRIDGE = 7;

export function watchDeletedLinks(onDeleted: (ifname: string) => void, onError: (err: Error) => void): LinkWatch {
  const { createRtNetlink, rt } = netlinkLib();
  const nl = createRtNetlink();
  try {
    const native = requireNativeHelper();
    // No namespace given: the socket is matched in the calling thread's, the daemon's own, where it was just made.
    native.netlinkNoEnobufs?.(nl.socket.address().port);
    native.netlinkOnlyType?.(nl.socket.address().port, RTM_DELLINK);
    nl.socket.setRecvBufferSize(RECV_BUFFER);
  } catch (err) {
    nl.socket.close();
    throw err;
  }
  nl.addMembership('LINK');
  nl.socket.ref(false);
  nl.socket.on('error', onError); // ENOBUFS: events were lost; the caller logs it
  nl.socket.on('message', (msgs: NetlinkMessage[]) => {
    for (const m of msgs) {
      if (m.type !== RTM_DELLINK) continue;
      try {
        const link = rt.parseLinkMessage(m.data);
        // AF_BRIDGE: a port left its bridge (`ip link set X nomaster`, the bridge deleted); the link itself is still there.
        if (link.data.family === AF_BRIDGE) continue;
        const name = link.attrs.ifname;
        if (name !== undefined) onDeleted(name);
      } catch (err) {
        onError(err as Error);
      }
    }
  });
  return { close: () => nl.socket.close() };
}
