import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addHostsRecords,
  buildHostsFile,
  hostsNamesFor,
  readHostsFile,
  removeHostsRecords,
  updateHostsRecord,
  writeHostsFile,
  type HostsRecord,
} from '../../../etchosts/index.js';

const golden = (name: string): Promise<string> =>
  readFile(new URL(`../../fixtures/etchosts/${name}`, import.meta.url), 'utf8');

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-etchosts-'));
  path = join(dir, 'hosts');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buildHostsFile', () => {
  it('H1 TestBuildDefault: 6 builds of the same file give exactly the default content', async () => {
    for (let i = 0; i <= 5; i++) {
      await buildHostsFile(path, { ipv6: true, extra: [], own: [] });
      expect(await readFile(path, 'utf8')).toBe(await golden('default.golden'));
    }
  });

  it('H4 creates the missing parent directory 0755 and the file 0644', async () => {
    const nested = join(dir, 'files', 'sb1', 'hosts');
    await buildHostsFile(nested, { ipv6: false, extra: [], own: [] });
    expect((await stat(nested)).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, 'files', 'sb1'))).mode & 0o777).toBe(0o755);
  });

  it('H4 rebuilding and every edit keep the inode (bind mounts survive)', async () => {
    await writeFile(path, 'x'.repeat(4096));
    const { ino } = await stat(path);
    await buildHostsFile(path, { ipv6: true, extra: [], own: [] });
    await addHostsRecords(path, [{ ip: '10.0.0.2', hosts: 'c1' }]);
    await updateHostsRecord(path, '10.0.0.3', 'c1');
    await removeHostsRecords(path, [{ ip: '10.0.0.3', hosts: 'c1' }]);
    await writeHostsFile(path, 'short\n');
    expect((await stat(path)).ino).toBe(ino);
    expect(await readHostsFile(path)).toBe('short\n');
  });
});

describe('TestHostsEntries and TestEtcHostsDisconnect at file level', () => {
  it('H2 TestHostsEntries: build then join gives the defaults and both own lines', async () => {
    await buildHostsFile(path, { ipv6: true, extra: [], own: [] });
    const hosts = hostsNamesFor('somehost.example.com');
    await addHostsRecords(path, [
      { ip: '192.168.222.2', hosts },
      { ip: 'fe90::2', hosts },
    ]);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestHostsEntries.golden'));
  });

  it('H3 TestEtcHostsDisconnect: connect, disconnect, reconnect, disconnect, disconnect (goldens 1-5)', async () => {
    const hosts = hostsNamesFor('c1.invalid');
    const extra = [
      { ip: '192.0.2.3', hosts: 'otherhost.invalid' },
      { ip: '2001:db8::1234', hosts: 'otherhost.invalid' },
    ];
    const net1 = [{ ip: '192.168.123.2', hosts }, { ip: 'fde6:be58:aedf::2', hosts }];
    const net2 = [{ ip: '192.168.124.2', hosts }, { ip: 'fdd2:c4e3:c4d5::2', hosts }];
    await buildHostsFile(path, { ipv6: true, extra, own: [] });
    await addHostsRecords(path, net1);
    await addHostsRecords(path, net2);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestEtcHostsDisconnect/1.golden'));
    await removeHostsRecords(path, net1);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestEtcHostsDisconnect/2.golden'));
    await addHostsRecords(path, net1);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestEtcHostsDisconnect/3.golden'));
    await removeHostsRecords(path, net1);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestEtcHostsDisconnect/4.golden'));
    await removeHostsRecords(path, net2);
    expect(await readFile(path, 'utf8')).toBe(await golden('TestEtcHostsDisconnect/5.golden'));
  });
});

describe('file edits', () => {
  it('H3 TestUpdate at file level: Update rewrites the IP of the hostname line', async () => {
    await buildHostsFile(path, { ipv6: true, own: [], extra: [{ hosts: 'testhostname.testdomainname testhostname', ip: '10.11.12.13' }] });
    await updateHostsRecord(path, '1.1.1.1', 'testhostname');
    expect(await readHostsFile(path)).toContain('1.1.1.1\ttesthostname.testdomainname testhostname\n');
  });

  it('H3 TestAddEmpty/TestDeleteEmpty: empty lists are no-ops, even on a missing file', async () => {
    await addHostsRecords(path, []);
    await removeHostsRecords(path, []);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('H3 Docker Add semantics: adding to a missing file is ERR_HOSTS_IO and does not create it', async () => {
    await expect(addHostsRecords(path, [{ ip: '10.0.0.2', hosts: 'c1' }])).rejects.toMatchObject({
      code: 'ERR_HOSTS_IO',
      details: { errno: 'ENOENT' },
    });
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('H3 bytes of user lines that are not UTF-8 survive an edit unchanged', async () => {
    const user = Buffer.from([0x31, 0x2e, 0x31, 0x2e, 0x31, 0x2e, 0x31, 0x09, 0x63, 0xe9, 0x0a]); // "1.1.1.1\tc\xe9\n"
    await writeFile(path, user);
    await addHostsRecords(path, [{ ip: '10.0.0.2', hosts: 'c1' }]);
    await removeHostsRecords(path, [{ ip: '10.0.0.2', hosts: 'c1' }]);
    expect(Buffer.compare(await readFile(path), user)).toBe(0);
  });

  it.each([
    ['newline', 'c1\n10.6.6.6 evil'],
    ['tab', 'c1\tevil'],
    ['space', 'c1  evil'],
    ['#', 'c1#evil'],
    ['64-byte label', 'a'.repeat(64)],
  ])('H5 a name with a %s is refused by add, remove and build, and the file is byte-identical', async (_what, bad) => {
    await buildHostsFile(path, { ipv6: true, extra: [{ ip: '192.0.2.3', hosts: 'otherhost' }], own: [] });
    await addHostsRecords(path, [{ ip: '10.0.0.2', hosts: 'c1' }]);
    const before = await readFile(path);
    const recs: HostsRecord[] = [{ ip: '10.0.0.3', hosts: 'ok' }, { ip: '10.0.0.4', hosts: bad }];
    const invalid = expect.objectContaining({ code: 'ERR_HOSTS_INVALID_NAME', status: 400 });
    await expect(addHostsRecords(path, recs)).rejects.toEqual(invalid);
    await expect(removeHostsRecords(path, recs)).rejects.toEqual(invalid);
    await expect(buildHostsFile(path, { ipv6: true, extra: recs, own: [] })).rejects.toEqual(invalid);
    await expect(updateHostsRecord(path, '10.0.0.5', bad)).rejects.toEqual(invalid);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
  });

  it('H5 a bad IP is ERR_HOSTS_INVALID_IP and the file is byte-identical', async () => {
    await buildHostsFile(path, { ipv6: true, extra: [], own: [] });
    const before = await readFile(path);
    await expect(addHostsRecords(path, [{ ip: '10.0.0.256', hosts: 'c1' }])).rejects.toMatchObject({
      code: 'ERR_HOSTS_INVALID_IP',
    });
    await expect(updateHostsRecord(path, 'nope', 'c1')).rejects.toMatchObject({ code: 'ERR_HOSTS_INVALID_IP' });
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
  });
});

describe('concurrency', () => {
  it('H4 TestConcurrentWrites: 10 tasks x 25 add/remove cycles never lose the unrelated line', { timeout: 30_000 }, async () => {
    await buildHostsFile(path, { ipv6: true, extra: [], own: [] });
    await addHostsRecords(path, [{ hosts: 'inithostname', ip: '172.17.0.1' }]);
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const rec = [{ ip: `${i}.${i}.${i}.${i}`, hosts: `testhostname${i}` }];
        for (let n = 0; n < 25; n++) {
          await addHostsRecords(path, rec);
          await removeHostsRecords(path, rec);
        }
      }),
    );
    expect(await readFile(path, 'utf8')).toBe(`${await golden('default.golden')}172.17.0.1\tinithostname\n`);
  });

  it('H4 concurrent random joins and leaves from many tasks end with exactly the surviving lines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.boolean(), { maxLength: 6 }), { minLength: 2, maxLength: 6 }), async (plans) => {
        await buildHostsFile(path, { ipv6: false, extra: [{ ip: '192.0.2.3', hosts: 'keep' }], own: [] });
        const survivors = await Promise.all(
          plans.map(async (plan, task) => {
            const rec = [{ ip: `10.0.${task}.2`, hosts: `c${task}` }];
            let joined = false;
            for (const join of plan) {
              if (join === joined) continue;
              await (join ? addHostsRecords(path, rec) : removeHostsRecords(path, rec));
              joined = join;
            }
            return joined ? `10.0.${task}.2\tc${task}\n` : '';
          }),
        );
        const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
        const expected = ['127.0.0.1\tlocalhost', '192.0.2.3\tkeep', ...survivors.join('').split('\n').filter((l) => l !== '')];
        expect(lines.sort()).toEqual(expected.sort());
      }),
      { numRuns: 15 },
    );
  });
});
