/**
 * The Query value: everything later stages need from one packet, computed
 * once by accept.ts (STYLE G5, like CoreDNS's request.Request).
 */
import { MAX_MESSAGE_SIZE, MIN_UDP_SIZE } from './constants.js';
/** Reply size limit for a transport and the client's EDNS size (R8, RFC 6891 §6.2.5). */
export function maxReplySize(transport, ednsUdpSize) {
    if (transport === 'tcp')
        return MAX_MESSAGE_SIZE;
    if (ednsUdpSize === undefined || ednsUdpSize <= MIN_UDP_SIZE)
        return MIN_UDP_SIZE;
    return Math.min(ednsUdpSize, MAX_MESSAGE_SIZE);
}
//# sourceMappingURL=query.js.map