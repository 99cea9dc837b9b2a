/**
 * Link events (rtnetlink(7) multicast group RTNLGRP_LINK) of the daemon's own
 * namespace: the kernel tells us when a link goes, so nothing polls. A veth
 * pair dies with either end: its sandbox end deleted, or its sandbox's
 * namespace destroyed, removes the host end too, and that is what we hear.
 */
import type { NetlinkMessage } from 'netlink';
import { netlinkLib } from '../../../common/io/rtnetlink.js';

/** RTM_DELLINK (linux/rtnetlink.h). */
const RTM_DELLINK = 17;

/** A running subscription. */
export interface LinkWatch {
  close(): void;
}

/** Call `onDeleted(ifname)` for every link deleted in this namespace, until close(). Never keeps the process alive. */
export function watchDeletedLinks(onDeleted: (ifname: string) => void, onError: (err: Error) => void): LinkWatch {
  const { createRtNetlink, rt } = netlinkLib();
  const nl = createRtNetlink();
  nl.addMembership('LINK');
  nl.socket.ref(false);
  nl.socket.on('error', onError); // ENOBUFS: events were lost; the caller logs it
  nl.socket.on('message', (msgs: NetlinkMessage[]) => {
    for (const m of msgs) {
      if (m.type !== RTM_DELLINK) continue;
      try {
        const name = rt.parseLinkMessage(m.data).attrs.ifname;
        if (name !== undefined) onDeleted(name);
      } catch (err) {
        onError(err as Error);
      }
    }
  });
  return { close: () => nl.socket.close() };
}
