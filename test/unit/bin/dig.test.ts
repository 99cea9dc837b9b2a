import { describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import { digArgs, parseDig } from '../../../bin/daemon/dig.js';

const ANSWER = `
; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +time=3 +tries=1 @127.0.0.11 db A
; (1 server found)
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 44231
;; flags: qr rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;db.\t\t\t\tIN\tA

;; ANSWER SECTION:
db.\t\t\t600\tIN\tA\t10.213.0.3
db.\t\t\t600\tIN\tA\t10.213.0.4

;; Query time: 1 msec
;; SERVER: 127.0.0.11#53(127.0.0.11) (UDP)
;; WHEN: Sun Nov 23 17:40:00 UTC 2025
;; MSG SIZE  rcvd: 63
`;

const NXDOMAIN = `
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 1
;; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 0

;; QUESTION SECTION:
;nope.example.\t\t\tIN\tA

;; AUTHORITY SECTION:
example.\t\t3600\tIN\tSOA\tns.example. host.example. 1 7200 3600 1209600 3600

;; Query time: 12 msec
;; SERVER: 127.0.0.11#53(127.0.0.11) (TCP)
`;

const TIMEOUT = `;; communications error to 127.0.0.11#53: timed out

; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +time=3 +tries=1 @127.0.0.11 x A
; (1 server found)
;; global options: +cmd
;; no servers could be reached
`;

describe('dig probe output', () => {
  it('R5 a local answer: status, flags, every answer record, time and transport', () => {
    const r = parseDig(ANSWER);
    expect(r).toMatchObject({ status: 'NOERROR', flags: ['qr', 'rd', 'ra'], timeMs: 1, server: '127.0.0.11#53 (UDP)', authority: [], additional: [] });
    expect(r.answer).toEqual([
      { name: 'db.', ttl: 600, class: 'IN', type: 'A', data: '10.213.0.3' },
      { name: 'db.', ttl: 600, class: 'IN', type: 'A', data: '10.213.0.4' },
    ]);
    expect(r.error).toBeUndefined();
  });

  it('R10 a relayed NXDOMAIN keeps its SOA in authority (multi-word rdata joined)', () => {
    const r = parseDig(NXDOMAIN);
    expect(r.status).toBe('NXDOMAIN');
    expect(r.answer).toEqual([]);
    expect(r.authority).toEqual([{ name: 'example.', ttl: 3600, class: 'IN', type: 'SOA', data: 'ns.example. host.example. 1 7200 3600 1209600 3600' }]);
    expect(r.server).toBe('127.0.0.11#53 (TCP)');
  });

  it('R1 no reply is TIMEOUT with dig\'s first error line', () => {
    expect(parseDig(TIMEOUT)).toMatchObject({ status: 'TIMEOUT', answer: [], error: 'communications error to 127.0.0.11#53: timed out' });
    expect(parseDig('')).toMatchObject({ status: 'TIMEOUT', flags: [] });
  });
});

describe('L1 the probe never passes a name to dig as an option', () => {
  const hasDig = execaSync('dig', ['-v'], { reject: false }).exitCode === 0;

  it('L1 the name and type go in as -q NAME -t TYPE', () => {
    expect(digArgs('+short', 'A', true)).toEqual(['+time=3', '+tries=1', '+tcp', '@127.0.0.11', '-q', '+short', '-t', 'A']);
  });

  // dig itself, asking 127.0.0.1 port 1 (refused at once: nothing is sent anywhere else); +qr prints the question it built.
  it.skipIf(!hasDig).each(['+short', '-f/etc/hostname', '-k/etc/hostname', '@192.0.2.1', '-x'])('L1 dig asks %s as a name', (name) => {
    const args = digArgs(name, 'TXT', false).map((a) => (a === '@127.0.0.11' ? '@127.0.0.1' : a));
    const r = execaSync('dig', ['-p', '1', '+qr', ...args], { reject: false, timeout: 10_000 });
    // dig prints a leading @ of a name escaped (RFC 1035 §5.1 master-file syntax).
    expect(r.stdout).toContain(`;; QUESTION SECTION:\n;${name.replace(/^@/, '\\@')}.\t\t`);
    expect(r.stdout).toMatch(/IN\s+TXT/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('192.0.2.1#');
  });
});
