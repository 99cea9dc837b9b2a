/**
 * Where upstream sockets come from (R11, Docker 1.H 50): host-origin servers
 * are queried from the controller's own namespace, sandbox-origin servers
 * (the sandbox's `dns` overrides) from inside the sandbox's namespace. The
 * resolver only asks a Dialer; sandbox/ supplies the in-namespace one (G2).
 */
import dgram from 'node:dgram';
import net from 'node:net';
// Large enough for bursts of replies; the kernel caps it at net.core.rmem_max.
const RECV_BUFFER_BYTES = 1 << 20;
/** The default Dialer: plain sockets in the controller's (host) namespace. */
export const hostDialer = {
    udpSocket(_origin, family) {
        const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
        return new Promise((resolve, reject) => {
            const onError = (err) => reject(err);
            sock.once('error', onError);
            sock.bind(0, () => {
                sock.off('error', onError);
                try {
                    sock.setRecvBufferSize(RECV_BUFFER_BYTES);
                }
                catch {
                    // Not fatal: the default buffer still works, it just drops sooner under bursts.
                }
                resolve(sock);
            });
        });
    },
    tcpConnect(_origin, address, port, signal) {
        return connectTcp(address, port, signal);
    },
};
/** Connect a TCP socket in the calling namespace; destroyed and rejected when `signal` aborts. */
export function connectTcp(address, port, signal) {
    return new Promise((resolve, reject) => {
        if (signal.aborted) {
            reject(new Error('aborted before connecting'));
            return;
        }
        const sock = net.connect({ host: address, port });
        const onAbort = () => {
            sock.destroy();
            reject(new Error('connect aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        sock.once('error', (err) => {
            signal.removeEventListener('abort', onAbort);
            sock.destroy();
            reject(err);
        });
        sock.once('connect', () => {
            signal.removeEventListener('abort', onAbort);
            sock.setNoDelay(true);
            resolve(sock);
        });
    });
}
//# sourceMappingURL=dialer.js.map