/**
 * The host switches published ports and egress need, written under
 * /proc/sys/net, which belongs to the network namespace of the process (the
 * daemon's), not to the machine.
 */
import { readFile, writeFile } from 'node:fs/promises';

const ROOT = '/proc/sys/net';

async function setIfNot(path: string, value: string): Promise<boolean> {
  const now = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (now === value) return false;
  await writeFile(path, value);
  return true;
}

/** Turn on IPv4 forwarding (and IPv6 when asked); never turned off again, as Docker. True when it changed. */
export async function enableForwarding(ipv6: boolean): Promise<boolean> {
  const v4 = await setIfNot(`${ROOT}/ipv4/ip_forward`, '1');
  const v6 = ipv6 ? await setIfNot(`${ROOT}/ipv6/conf/all/forwarding`, '1') : false;
  return v4 || v6;
}

/** Let a bridge route 127.0.0.0/8 sources (localhost clients of published ports without a proxy). */
export async function enableRouteLocalnet(bridge: string): Promise<void> {
  await setIfNot(`${ROOT}/ipv4/conf/${bridge}/route_localnet`, '1');
}

/** Read one switch (inspect, tests). */
export async function readSwitch(path: string): Promise<string | undefined> {
  return (await readFile(`${ROOT}/${path}`, 'utf8').catch(() => undefined))?.trim();
}
