import { serveTcpConnection } from './tcp-connection.js';
/** Start answering on `handles` with `handle` until close(). */
export function serveSockets(handles, handle, opts) {
    const { udp, tcp } = handles;
    const { logger } = opts;
    const open = new Set();
    let closed = false;
    const onMessage = udpResponder(udp, handle, logger, () => closed);
    const onConnection = (sock) => {
        if (closed || open.size >= opts.tcp.maxConnections) {
            // R14: at most maxConnections per sandbox; the newcomer is refused.
            sock.on('error', () => undefined);
            sock.destroy();
            logger.debug({ open: open.size }, 'resolver: TCP connection limit reached, connection closed');
            return;
        }
        open.add(sock);
        serveTcpConnection(sock, handle, opts.tcp, logger, () => open.delete(sock));
    };
    udp.on('message', onMessage);
    udp.on('error', (err) => logger.warn({ err }, 'resolver: UDP socket error'));
    tcp.on('connection', onConnection);
    tcp.on('error', (err) => logger.warn({ err }, 'resolver: TCP listener error'));
    return {
        get connections() {
            return open.size;
        },
        async close() {
            if (closed)
                return;
            closed = true;
            udp.off('message', onMessage);
            tcp.off('connection', onConnection);
            const udpDone = new Promise((resolve) => {
                try {
                    udp.close(() => resolve());
                }
                catch {
                    resolve(); // already closed
                }
            });
            const tcpDone = new Promise((resolve) => tcp.close(() => resolve()));
            for (const sock of open)
                sock.destroy();
            await Promise.all([udpDone, tcpDone]);
        },
    };
}
// UDP: each datagram is one query; the reply goes back to its sender.
function udpResponder(udp, handle, logger, isClosed) {
    const send = (reply, rinfo) => {
        if (isClosed())
            return;
        try {
            udp.send(reply, rinfo.port, rinfo.address);
        }
        catch (err) {
            logger.debug({ err }, 'resolver: UDP send failed');
        }
    };
    return (msg, rinfo) => {
        const r = handle(msg, 'udp');
        if (r === undefined)
            return;
        if (r instanceof Uint8Array)
            send(r, rinfo);
        else {
            r.then((reply) => reply !== undefined && send(reply, rinfo), (err) => logger.warn({ err }, 'resolver: UDP query handler failed'));
        }
    };
}
//# sourceMappingURL=server.js.map