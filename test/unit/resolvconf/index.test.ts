import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  hostOriginPath,
  isUserModified,
  loadResolvConf,
  parseResolvConf,
  renderResolvConf,
  SANDNS_HEADER,
  transformForInternalResolver,
  writeResolvConf,
} from '../../../resolvconf/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandns-resolvconf-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const content = renderResolvConf(parseResolvConf('nameserver 1.2.3.4', ''));

describe('TestRCWrite', () => {
  it.each([
    { name: 'Write with hash', hash: true, modify: false, mode: 0o644, expModified: false },
    { name: 'Write with hash and modify', hash: true, modify: true, mode: 0o644, expModified: true },
    { name: 'Write without hash and modify', hash: false, modify: true, mode: 0o644, expModified: false },
    { name: 'Write perm', hash: false, modify: false, mode: 0o640, expModified: false },
  ])('C4 $name', async (tc) => {
    const path = join(dir, 'testfile');
    const hashPath = tc.hash ? join(dir, 'testfile.hash') : null;
    expect(await writeResolvConf(path, content, { hashPath, mode: tc.mode })).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(tc.mode);
    if (tc.modify) await writeFile(path, 'modified');
    expect(await isUserModified(path, hashPath ?? join(dir, 'testfile.hash'))).toBe(tc.expModified);
  });

  it('C4 the hash file holds sha256:<hex> of the content, by default at <path>.hash', async () => {
    const path = join(dir, 'resolv.conf');
    await writeResolvConf(path, content);
    const hex = createHash('sha256').update(content).digest('hex');
    expect(await readFile(`${path}.hash`, 'utf8')).toBe(`sha256:${hex}`);
    expect(await isUserModified(path)).toBe(false);
  });

  it('C4 L6 a write cut between the file and its hash (the hash says both digests meanwhile) never reads as the user\'s edit', async () => {
    const path = join(dir, 'resolv.conf');
    const next = renderResolvConf(parseResolvConf('nameserver 5.6.7.8', ''));
    const digest = (c: string): string => `sha256:${createHash('sha256').update(c).digest('hex')}`;
    await writeResolvConf(path, content);
    // What a kill -9 leaves at each point of the next write: both digests first, then the file, then the new hash.
    await writeFile(`${path}.hash`, `${digest(next)}\n${digest(content)}`);
    expect(await isUserModified(path)).toBe(false);
    await writeFile(path, next);
    expect(await isUserModified(path)).toBe(false);
    expect(await writeResolvConf(path, next, { skipIfUserModified: true })).toBe(true);
    expect(await readFile(`${path}.hash`, 'utf8')).toBe(digest(next));
    // The user's own content is still an edit, and a hash of more lines is not ours.
    await writeFile(path, 'nameserver 9.9.9.9\n');
    expect(await isUserModified(path)).toBe(true);
    await writeFile(path, next);
    await writeFile(`${path}.hash`, `${digest(next)}\n${digest(content)}\n${digest(content)}`);
    expect(await isUserModified(path)).toBe(true);
  });

  it('C4 writes keep the inode and create the missing parent directory', async () => {
    const path = join(dir, 'containers', 'c1', 'resolv.conf');
    await writeResolvConf(path, 'x'.repeat(5000));
    const { ino } = await stat(path);
    await writeResolvConf(path, content);
    expect((await stat(path)).ino).toBe(ino);
    expect(await readFile(path, 'utf8')).toBe(content);
  });

  it('C4 skipIfUserModified leaves a file the user changed untouched and says so', async () => {
    const path = join(dir, 'resolv.conf');
    await writeResolvConf(path, content);
    await writeFile(path, 'nameserver 113.34.56.78\n');
    expect(await writeResolvConf(path, 'other\n', { skipIfUserModified: true })).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('nameserver 113.34.56.78\n');
    expect(await writeResolvConf(path, 'forced\n')).toBe(true);
    expect(await isUserModified(path)).toBe(false);
  });

  it('C4 a hash that cannot be checked, or a file that is gone, counts as modified', async () => {
    const path = join(dir, 'resolv.conf');
    await writeResolvConf(path, content);
    await rm(path);
    expect(await isUserModified(path)).toBe(true);
    await writeFile(path, content);
    await writeFile(`${path}.hash`, 'md5:abc');
    expect(await isUserModified(path)).toBe(true);
  });

  it('C4 an I/O failure is ERR_RESOLVCONF_IO; a directory or FIFO at the path is refused, never opened for writing', async () => {
    await writeFile(join(dir, 'afile'), 'x');
    // The file's directory cannot be made: a file stands where it would go (ENOTDIR).
    await expect(writeResolvConf(join(dir, 'afile', 'resolv.conf'), content)).rejects.toMatchObject({ code: 'ERR_RESOLVCONF_IO' });
    await mkdir(join(dir, 'adir'));
    await expect(writeResolvConf(join(dir, 'adir'), content)).rejects.toMatchObject({ code: 'ERR_FILE_NOT_REGULAR' });
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await expect(writeResolvConf(join(dir, 'fifo'), content)).rejects.toMatchObject({ code: 'ERR_FILE_NOT_REGULAR' });
  });
});

describe('old TestResolvConf flow (C4: a file the user changed is never overwritten)', () => {
  it('C4 generate, rebuild on a host change, then a user edit survives the next rebuild', async () => {
    const origin = join(dir, 'host-resolv.conf');
    const path = join(dir, 'sb', 'resolv.conf');
    const rebuild = async (): Promise<boolean> => {
      const { conf } = transformForInternalResolver(await loadResolvConf(origin));
      return writeResolvConf(path, renderResolvConf(conf, { header: SANDNS_HEADER }), { skipIfUserModified: true });
    };
    const directives = async (): Promise<string[]> =>
      (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));

    await writeFile(origin, 'search pommesfrites.fr\nnameserver 12.34.56.78\nnameserver 2001:4860:4860::8888\n');
    expect(await rebuild()).toBe(true);
    expect(await directives()).toEqual(['nameserver 127.0.0.11', 'search pommesfrites.fr', 'options ndots:0']);
    await writeFile(origin, 'search pommesfrites.fr\nnameserver 112.34.56.78\n');
    expect(await rebuild()).toBe(true);
    expect(await directives()).toEqual(['nameserver 127.0.0.11', 'search pommesfrites.fr', 'options ndots:0']);
    await writeFile(path, 'search pommesfrites.fr\nnameserver 113.34.56.78\n');
    expect(await rebuild()).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('search pommesfrites.fr\nnameserver 113.34.56.78\n');
  });
});

describe('loadResolvConf and hostOriginPath', () => {
  it('C1 TestRCRead: a missing file loads as empty (Docker C3); a file with options edns0 gives [edns0]', async () => {
    const path = join(dir, 'resolv.conf');
    expect(await loadResolvConf(path)).toMatchObject({ sourcePath: path, nameservers: [], options: [] });
    await writeFile(path, 'options edns0');
    expect(await loadResolvConf(path)).toMatchObject({ sourcePath: path, options: ['edns0'] });
  });

  it('C1 a too-long line in the file is ERR_RESOLVCONF_LINE_TOO_LONG naming the path', async () => {
    const path = join(dir, 'resolv.conf');
    await writeFile(path, 'a'.repeat(65537));
    await expect(loadResolvConf(path)).rejects.toMatchObject({
      code: 'ERR_RESOLVCONF_LINE_TOO_LONG',
      message: `failed to parse resolv.conf from ${path}: line too long (exceeds 65536)`,
    });
  });

  it('C1 Docker: only 127.0.0.53 and an existing systemd file selects the systemd file', async () => {
    const etc = join(dir, 'resolv.conf');
    const systemd = join(dir, 'systemd-resolv.conf');
    await writeFile(etc, '# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\n');
    expect(await hostOriginPath(etc, systemd)).toBe(etc); // systemd file missing
    await writeFile(systemd, 'nameserver 192.0.2.1\n');
    expect(await hostOriginPath(etc, systemd)).toBe(systemd);
    await writeFile(etc, 'nameserver 127.0.0.53\nnameserver 192.0.2.9\n');
    expect(await hostOriginPath(etc, systemd)).toBe(etc);
    await rm(etc);
    expect(await hostOriginPath(etc, systemd)).toBe(etc);
  });
});
