import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addRecords, removeRecords, updateRecord } from '../../../etchosts/edit.js';
import type { HostsRecord } from '../../../etchosts/entries.js';
import { renderHosts } from '../../../etchosts/render.js';

const base = renderHosts({ ipv6: true, extra: [], own: [] });

describe('addRecords', () => {
  it('H3 TestAdd: the record line is appended', () => {
    expect(addRecords(base, [{ hosts: 'testhostname', ip: '2.2.2.2' }])).toBe(`${base}2.2.2.2\ttesthostname\n`);
  });

  it('H3 TestAddEmpty: an empty list leaves the text as it is', () => {
    expect(addRecords(base, [])).toBe(base);
  });

  it('H3 a last line without newline is terminated before appending', () => {
    expect(addRecords('10.0.0.9\tuser', [{ ip: '10.0.0.2', hosts: 'c1' }])).toBe('10.0.0.9\tuser\n10.0.0.2\tc1\n');
  });

  it('H5 one bad record among good ones throws and nothing is computed', () => {
    const recs = [
      { ip: '10.0.0.2', hosts: 'good' },
      { ip: '10.0.0.3', hosts: 'evil\n0.0.0.0 bank.example' },
    ];
    expect(() => addRecords(base, recs)).toThrow(expect.objectContaining({ code: 'ERR_HOSTS_INVALID_NAME' }));
  });
});

describe('removeRecords', () => {
  it('H3 TestDelete: lines 1 and 3 go, line 2 stays', () => {
    const added = addRecords(base, [
      { hosts: 'testhostname1', ip: '1.1.1.1' },
      { hosts: 'testhostname2', ip: '2.2.2.2' },
      { hosts: 'testhostname3', ip: '3.3.3.3' },
    ]);
    const text = removeRecords(added, [
      { hosts: 'testhostname1', ip: '1.1.1.1' },
      { hosts: 'testhostname3', ip: '3.3.3.3' },
    ]);
    expect(text).toBe(`${base}2.2.2.2\ttesthostname2\n`);
  });

  it('H3 TestDeleteIgnoresPrefixedHostname: removing prefix keeps prefixAndMore', () => {
    const added = addRecords(base, [
      { hosts: 'prefix', ip: '1.1.1.1' },
      { hosts: 'prefixAndMore', ip: '2.2.2.2' },
    ]);
    const text = removeRecords(added, [{ hosts: 'prefix', ip: '1.1.1.1' }]);
    expect(text).toContain('2.2.2.2\tprefixAndMore\n');
    expect(text).not.toContain('1.1.1.1\tprefix\n');
  });

  it('H3 TestDeleteEmpty and TestDeleteNewline: no error, empty list changes nothing', () => {
    expect(removeRecords(base, [])).toBe(base);
    expect(removeRecords('\n', [{ hosts: 'prefix', ip: '2.2.2.2' }])).toBe('');
  });

  it('H3 moby#34044: only the line with both the IP and the exact names goes', () => {
    const text = [
      '# user comment',
      '192.168.1.2\tc1.invalid c1',
      '192.168.2.2\tc1.invalid c1',
      '192.168.1.2\tc1.invalid c1 extra-by-user',
      '192.168.1.2 \tc1.invalid c1',
      '192.168.1.2   c1.invalid c1',
      '',
      '10.1.1.1\tuserhost',
    ].join('\n');
    const out = removeRecords(text, [{ ip: '192.168.1.2', hosts: 'c1.invalid c1' }]);
    expect(out).toBe(
      [
        '# user comment',
        '192.168.2.2\tc1.invalid c1',
        '192.168.1.2\tc1.invalid c1 extra-by-user',
        '192.168.1.2   c1.invalid c1',
        '10.1.1.1\tuserhost',
        '',
      ].join('\n'),
    );
  });

  it('H3 an address written in another form still matches (compared as IPs)', () => {
    expect(removeRecords('fde6:be58:aedf:0::2\tc1\n', [{ ip: 'fde6:be58:aedf::2', hosts: 'c1' }])).toBe('');
  });

  it('H3 a comment that looks like the record is kept', () => {
    expect(removeRecords('#1.1.1.1\tc1\n', [{ ip: '1.1.1.1', hosts: 'c1' }])).toBe('#1.1.1.1\tc1\n');
  });
});

describe('updateRecord', () => {
  it('H3 TestUpdate: the line whose first name is hostname.domain gets the new IP', () => {
    const text = addRecords(base, [{ hosts: 'testhostname.testdomainname testhostname', ip: '10.11.12.13' }]);
    expect(updateRecord(text, '1.1.1.1', 'testhostname')).toContain('1.1.1.1\ttesthostname.testdomainname testhostname\n');
  });

  it('H3 TestUpdateIgnoresPrefixedHostname: prefixAndMore and unaffectedHost keep their IPs', () => {
    const text = renderHosts({
      ipv6: true,
      own: [],
      extra: [
        { hosts: 'prefix', ip: '2.2.2.2' },
        { hosts: 'prefixAndMore', ip: '3.3.3.3' },
        { hosts: 'unaffectedHost', ip: '4.4.4.4' },
      ],
    });
    expect(updateRecord(text, '5.5.5.5', 'prefix')).toContain('5.5.5.5\tprefix\n3.3.3.3\tprefixAndMore\n4.4.4.4\tunaffectedHost\n');
  });

  it('H5 update validates the IP and the name first', () => {
    expect(() => updateRecord(base, '1.1.1', 'a')).toThrow(expect.objectContaining({ code: 'ERR_HOSTS_INVALID_IP' }));
    expect(() => updateRecord(base, '1.1.1.1', 'a b')).toThrow(expect.objectContaining({ code: 'ERR_HOSTS_INVALID_NAME' }));
  });

  it('H3 a name with regex characters is matched literally', () => {
    expect(updateRecord('1.1.1.1\tweb-1\n2.2.2.2\twebx1\n', '9.9.9.9', 'web-1')).toBe('9.9.9.9\tweb-1\n2.2.2.2\twebx1\n');
  });
});

// ---- property tests: the file equals a simple model after any sequence of operations ----

const IPS = ['10.0.0.2', '10.0.0.3', 'fd00::2', '2001:db8::5'];
const NAMES = ['c1', 'c1.invalid c1', 'web', 'db other', 'otherhost.invalid'];
const recordArb: fc.Arbitrary<HostsRecord> = fc.record({ ip: fc.constantFrom(...IPS), hosts: fc.constantFrom(...NAMES) });
const USER_LINES = ['# kept comment', '10.0.0.2   c1', '10.0.0.3\tc1 mine', '127.0.1.1\tuserbox'];

type Op =
  | { kind: 'build'; ipv6: boolean; extra: HostsRecord[] }
  | { kind: 'add'; recs: HostsRecord[] }
  | { kind: 'remove'; recs: HostsRecord[] }
  | { kind: 'user'; line: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('build' as const), ipv6: fc.boolean(), extra: fc.array(recordArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('add' as const), recs: fc.array(recordArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), recs: fc.array(recordArb, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('user' as const), line: fc.constantFrom(...USER_LINES) }),
);

const DEFAULT_V4 = ['127.0.0.1\tlocalhost'];
const DEFAULT_V6 = [
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::\tip6-localnet',
  'ff00::\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** The model: the file as a list of lines, changed the obvious way by each operation. */
function applyToModel(lines: string[], op: Op): string[] {
  const line = (r: HostsRecord): string => `${r.ip}\t${r.hosts}`;
  switch (op.kind) {
    case 'build': {
      const extra = op.extra.filter((r) => op.ipv6 || !r.ip.includes(':')).map(line);
      return [...DEFAULT_V4, ...(op.ipv6 ? DEFAULT_V6 : []), ...extra];
    }
    case 'add':
      return [...lines, ...op.recs.map(line)];
    case 'remove':
      return op.recs.length === 0 ? lines : lines.filter((l) => !op.recs.some((r) => l === line(r)));
    case 'user':
      return [...lines, op.line];
  }
}

/** The same operation on the text through the functions under test. */
function applyToText(text: string, op: Op): string {
  switch (op.kind) {
    case 'build':
      return renderHosts({ ipv6: op.ipv6, extra: op.extra, own: [] });
    case 'add':
      return addRecords(text, op.recs);
    case 'remove':
      return removeRecords(text, op.recs);
    case 'user':
      return `${text}${op.line}\n`;
  }
}

describe('property', () => {
  it('H3 for any sequence of build/add/remove/user edits the text equals the model', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
        let text = renderHosts({ ipv6: true, extra: [], own: [] });
        let model = [...DEFAULT_V4, ...DEFAULT_V6];
        for (const op of ops) {
          text = applyToText(text, op);
          model = applyToModel(model, op);
          expect(text).toBe(model.map((l) => `${l}\n`).join(''));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('H3 removeRecords never drops a comment or a line that does not end in TAB + the names (FuzzAdd-like)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 30 }), { maxLength: 10 }), fc.array(recordArb, { maxLength: 3 }), (rawLines, recs) => {
        const lines = rawLines.flatMap((l) => l.split(/\r?\n/)).map((l) => l.replace(/\r$/, ''));
        const text = lines.join('\n');
        const after = addRecords(text, recs);
        expect(after.startsWith(text)).toBe(true);
        const kept = removeRecords(after, recs).split('\n');
        for (const l of lines) {
          if (l === '' || (!l.startsWith('#') && recs.some((r) => l.endsWith(`\t${r.hosts}`)))) continue;
          expect(kept).toContain(l);
        }
      }),
      { numRuns: 300 },
    );
  });
});
