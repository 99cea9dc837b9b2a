/**
 * The member identity file `<stateDir>/cluster.json`: this host's member id and
 * its current lease, so a daemon restarted inside its lease takes its records
 * over (docs/cluster.md M5) instead of leaving them to expire.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

/** What is kept across restarts. */
export interface MemberFile {
  readonly member: string;
  /** etcd lease id (decimal string) the member's keys live under. */
  readonly lease?: string | undefined;
}

/** Read the file; undefined when absent or unreadable (a fresh member). */
export async function readMemberFile(path: string): Promise<MemberFile | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<MemberFile>;
    if (typeof o.member !== 'string' || !/^[0-9a-f]{8,64}$/.test(o.member)) return undefined;
    return { member: o.member, ...(typeof o.lease === 'string' && /^\d+$/.test(o.lease) ? { lease: o.lease } : {}) };
  } catch {
    return undefined;
  }
}

/** Write the file atomically (temp file + rename). */
export async function writeMemberFile(path: string, value: MemberFile): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Read the TLS files named by the options. */
export async function readTlsFiles(tls: { ca?: string; cert?: string; key?: string }): Promise<{ rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer }> {
  const [ca, cert, key] = await Promise.all([tls.ca, tls.cert, tls.key].map((p) => (p === undefined ? undefined : readFile(p))));
  return { rootCertificate: ca ?? Buffer.alloc(0), ...(cert ? { certChain: cert } : {}), ...(key ? { privateKey: key } : {}) };
}
