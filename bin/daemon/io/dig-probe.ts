/**
 * The `resolve` probe's process: `nsenter --net=<ns> dig @127.0.0.11`, its
 * output read by parseDig (../dig.ts).
 */
import { run } from '../../../common/io/exec.js';
import { digArgs, parseDig, type ProbeReply } from '../dig.js';

/** Ask 127.0.0.11 from inside the namespace at `netnsPath`. */
export async function digInNetns(netnsPath: string, name: string, type: string, tcp = false): Promise<ProbeReply> {
  const argv = [`--net=${netnsPath}`, '--', 'dig', ...digArgs(name, type, tcp)];
  // Through run(): at the daemon's descriptor limit a spawn fails as a typed error, never as an unheard 'error' event.
  const r = await run('nsenter', argv, { reject: false, timeoutMs: 15_000 });
  const reply = parseDig(r.stdout);
  if (reply.status === 'TIMEOUT' && reply.error === undefined) {
    reply.error = (r.stderr.trim() || r.stdout.trim().split('\n').pop() || `dig exited with code ${r.exitCode}`).slice(0, 300);
  }
  return reply;
}
