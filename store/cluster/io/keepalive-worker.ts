/**
 * Worker thread entry of the lease keep-alive (keepalive.ts): its own etcd
 * client and event loop, reporting to the daemon by messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEtcdClient } from './etcd-calls.js';
import { keepAliveLoop, type KeepAliveSpec } from './keepalive.js';

const spec = workerData as KeepAliveSpec;
const c = spec.credentials;
const client = createEtcdClient(spec.endpoints, c === undefined ? undefined : {
  rootCertificate: Buffer.from(c.rootCertificate),
  ...(c.certChain ? { certChain: Buffer.from(c.certChain) } : {}),
  ...(c.privateKey ? { privateKey: Buffer.from(c.privateKey) } : {}),
});
keepAliveLoop(client, spec, (e) => parentPort?.postMessage(e));
