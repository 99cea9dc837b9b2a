/**
 * The `resolve` probe: `dig @127.0.0.11` run inside the sandbox's namespace
 * (nsenter --net), so the answer is exactly what a client in the container
 * gets from its own listener (R1). parseDig() is pure and unit-tested; the
 * probe itself (a process) is io/dig-probe.ts.
 */

/**
 * dig's arguments for the probe: `name` and `type` go in as `-q NAME -t TYPE`
 * (dig(1): "-q name ... useful to distinguish the name from other
 * arguments"), so a name such as `+short`, `-f/etc/shadow` or `@10.0.0.1` is
 * asked as a name and never read as an option, a file or a server.
 */
export function digArgs(name: string, type: string, tcp: boolean): string[] {
  return ['+time=3', '+tries=1', ...(tcp ? ['+tcp'] : []), '@127.0.0.11', '-q', name, '-t', type];
}

/** One resource record as dig prints it. */
export interface ProbeRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

/** What the sandbox's listener answered, or why nothing came back. */
export interface ProbeReply {
  /** NOERROR, NXDOMAIN, SERVFAIL ... or TIMEOUT when no reply came. */
  status: string;
  /** Header flags (qr, aa, tc, rd, ra, ad, cd). */
  flags: string[];
  answer: ProbeRecord[];
  authority: ProbeRecord[];
  additional: ProbeRecord[];
  /** Round trip as dig measured it, ms. */
  timeMs?: number;
  /** The server and transport, as `127.0.0.11#53 (UDP)`. */
  server?: string;
  /** dig's own message when it got no answer. */
  error?: string;
}

const SECTIONS = { 'ANSWER SECTION:': 'answer', 'AUTHORITY SECTION:': 'authority', 'ADDITIONAL SECTION:': 'additional' } as const;

function parseRecord(line: string): ProbeRecord | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 5 || !/^[0-9]+$/.test(f[1]!)) return undefined;
  return { name: f[0]!, ttl: Number(f[1]), class: f[2]!, type: f[3]!, data: f.slice(4).join(' ') };
}

/** Parse dig's default text output. */
export function parseDig(stdout: string): ProbeReply {
  const out: ProbeReply = { status: 'TIMEOUT', flags: [], answer: [], authority: [], additional: [] };
  let section: keyof typeof SECTIONS | undefined;
  for (const line of stdout.split('\n')) {
    const header = /status: ([A-Z0-9]+)/.exec(line);
    if (line.startsWith(';; ->>HEADER<<-') && header) out.status = header[1]!;
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags) out.flags = flags[1]!.trim().split(/\s+/).filter(Boolean);
    const time = /^;; Query time: ([0-9]+) msec/.exec(line);
    if (time) out.timeMs = Number(time[1]);
    const server = /^;; SERVER: (\S+)\(\S*\)\s*(\(\w+\))?/.exec(line);
    if (server) out.server = `${server[1]}${server[2] ? ` ${server[2]}` : ''}`;
    if (out.error === undefined && /^;; (connection timed out|communications error|.*no servers could be reached)/.test(line)) out.error = line.slice(3).trim();
    const title = line.startsWith(';; ') ? (line.slice(3).trim() as keyof typeof SECTIONS) : undefined;
    if (title !== undefined && title in SECTIONS) {
      section = title;
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') section = undefined;
      continue;
    }
    const rec = section === undefined ? undefined : parseRecord(line);
    if (rec !== undefined) out[SECTIONS[section!]].push(rec);
  }
  return out;
}
