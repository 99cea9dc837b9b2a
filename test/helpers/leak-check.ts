/**
 * A setup file of the integration project (vitest.config.ts): after each test file, anything of the kinds sandns
 * makes in the machine's own namespace that appeared during the file and is still there once the file's own cleanup
 * ran fails the file, naming it. Integration files run one at a time, so what appeared during a file is that file's
 * (on a machine where nothing else makes namespaces meanwhile: nothing is removed here, as it might be another's).
 * Checked: links
 * carrying sandns's mark (a bridge's or VXLAN device's ifalias `sandns:…`), sandbox-side veths (`sv…`), named network
 * namespaces and their /etc/netns directories, entries of /run/sandns (sandboxes/, originals/), an nftables table
 * `sandns`, and the IPv4 forwarding sysctl.
 *
 * A veth whose peer was in a namespace just deleted goes with the namespace's cleanup, which the kernel finishes
 * asynchronously: leftovers are looked for again for a few seconds before they count.
 */
import { afterAll, beforeAll } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';

interface Leftovers {
  readonly links: string[];
  readonly namespaces: string[];
  readonly etcNetns: string[];
  /** sandns's default run directory: a sandbox's hash file and the originals of files it took over. */
  readonly runDir: string[];
  readonly nftTables: string[];
  readonly ipForward: string;
}

const names = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [])).sort();

async function look(): Promise<Leftovers> {
  const { stdout } = await execa('ip', ['-j', 'link', 'show']);
  const links = (JSON.parse(stdout) as { ifname: string; ifalias?: string }[])
    .filter((l) => l.ifalias?.startsWith('sandns:') === true || /^sv[0-9a-f]/.test(l.ifname))
    .map((l) => l.ifname)
    .sort();
  const nft = await execa('nft', ['-j', 'list', 'tables'], { reject: false });
  const tables = nft.exitCode === 0 ? (JSON.parse(nft.stdout) as { nftables: { table?: { family: string; name: string } }[] }).nftables : [];
  return {
    links,
    namespaces: await names('/run/netns'),
    etcNetns: await names('/etc/netns'),
    runDir: [...(await names('/run/sandns/sandboxes')).map((n) => `sandboxes/${n}`), ...(await names('/run/sandns/originals')).map((n) => `originals/${n}`)],
    nftTables: tables.flatMap((t) => (t.table !== undefined && t.table.name.startsWith('sandns') ? [`${t.table.family} ${t.table.name}`] : [])),
    ipForward: (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(),
  };
}

/** What `now` has that `before` had not, one line per kind. */
function added(before: Leftovers, now: Leftovers): string[] {
  const out: string[] = [];
  for (const kind of ['links', 'namespaces', 'etcNetns', 'runDir', 'nftTables'] as const) {
    const extra = now[kind].filter((x) => !before[kind].includes(x));
    if (extra.length > 0) out.push(`${kind}: ${extra.join(', ')}`);
  }
  if (now.ipForward !== before.ipForward) out.push(`net.ipv4.ip_forward: ${before.ipForward} → ${now.ipForward}`);
  return out;
}

let before: Leftovers | undefined;

beforeAll(async () => {
  if (process.getuid?.() === 0) before = await look();
});

afterAll(async () => {
  if (before === undefined) return;
  let now = await look();
  for (let i = 0; i < 50 && added(before, now).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = await look();
  }
  const left = added(before, now);
  if (left.length === 0) return;
  throw new Error(`this test file left behind (its own cleanup must remove them): ${left.join('; ')}`);
}, 30_000);
