import { describe, expect, it } from 'vitest';
import { hookAction, parseOciState, pinName, runOciHook, sandboxOf, type HookIo } from '../../../bin/cli/commands-hook.js';
import type { ApiClient } from '../../../bin/cli/client.js';

const creating = { ociVersion: '1.0.2-dev', id: 'ctr1', status: 'creating', pid: 4242, bundle: '/b' };
const stopped = { ociVersion: '1.0.2-dev', id: 'ctr1', status: 'stopped', bundle: '/b' };

/** A hook world that records what it was asked to do. */
function fakeIo(state: object, answers: Record<string, unknown> = {}, fail?: string, world: { pinInPlace?: boolean; unpinFails?: boolean } = {}) {
  const calls: string[] = [];
  const client: ApiClient = {
    socketPath: '/x.sock',
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      calls.push(`${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`);
      if (fail !== undefined && `${method} ${path}`.startsWith(fail)) throw Object.assign(new Error('refused'), { code: 'ERR_X' });
      return (answers[`${method} ${path}`] ?? {}) as T;
    },
    text: async () => '',
  };
  const io: HookIo = {
    client,
    readStdin: async () => JSON.stringify(state),
    pin: async (name, pid) => void calls.push(`pin ${name} ${pid}`),
    unpin: async (name) => {
      calls.push(`unpin ${name}`);
      if (world.unpinFails === true) throw Object.assign(new Error('busy'), { code: 'ERR_CLI_HOOK_PIN' });
    },
    pinIsOf: async (name, pid) => (calls.push(`pinIsOf ${name} ${pid}`), world.pinInPlace === true),
  };
  return { io, calls };
}

describe('oci-hook', () => {
  it('L1 parses the OCI state and refuses what is not one (ERR_CLI_USAGE)', () => {
    expect(parseOciState(JSON.stringify(creating))).toMatchObject({ id: 'ctr1', pid: 4242 });
    for (const bad of ['', 'nope', '{}', '{"id":"x"}']) expect(() => parseOciState(bad)).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
  });

  it('L1 the hook is named, or told by the status: creating → attach, stopped → release', () => {
    expect(hookAction(parseOciState(JSON.stringify(creating)), undefined)).toBe('attach');
    expect(hookAction(parseOciState(JSON.stringify(stopped)), undefined)).toBe('release');
    expect(hookAction(parseOciState(JSON.stringify(stopped)), 'createRuntime')).toBe('attach');
    expect(hookAction(parseOciState(JSON.stringify(creating)), 'poststop')).toBe('release');
    expect(() => hookAction(parseOciState(JSON.stringify(creating)), 'startContainer')).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
    expect(() => hookAction(parseOciState(JSON.stringify({ ...creating, status: 'running' })), undefined)).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
  });

  it('L1 the sandbox is --sandbox, else the sandns.sandbox annotation, else the container id', () => {
    const s = parseOciState(JSON.stringify({ ...creating, annotations: { 'sandns.sandbox': 'web' } }));
    expect([sandboxOf(s, 'other'), sandboxOf(s), sandboxOf(parseOciState(JSON.stringify(creating)))]).toEqual(['other', 'web', 'ctr1']);
  });

  it('L1 createRuntime: checks the sandbox is free, pins the namespace by pid under this container\'s own name, then sets the key', async () => {
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: '' } });
    expect(await runOciHook(io, undefined, undefined)).toEqual({ action: 'attach', sandbox: 'ctr1' });
    expect(pinName('ctr1', 'ctr1')).toMatch(/^sandns-ctr1-[0-9a-f]{12}$/);
    expect(calls).toEqual(['GET /sandboxes/ctr1', `pin ${pinName('ctr1', 'ctr1')} 4242`, `PUT /sandboxes/ctr1/key {"netnsPath":"/run/netns/${pinName('ctr1', 'ctr1')}"}`]);
  });

  it('L1 two containers given one sandbox never share a pin name', () => {
    expect(pinName('web', 'ctr1')).not.toBe(pinName('web', 'ctr2'));
  });

  it('L1 a refused key is unpinned again and fails the hook (the runtime then aborts the container)', async () => {
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: '' } }, 'PUT');
    await expect(runOciHook(io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_X' });
    expect(calls.at(-1)).toBe(`unpin ${pinName('ctr1', 'ctr1')}`);
  });

  it('L1 a sandbox another container holds is refused (409, exit 1) before anything is pinned; its own key again is a success', async () => {
    const web = { ...creating, id: 'ctr2', annotations: { 'sandns.sandbox': 'web' } };
    const taken = fakeIo(web, { 'GET /sandboxes/web': { netnsPath: `/run/netns/${pinName('web', 'ctr1')}` } });
    await expect(runOciHook(taken.io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_SANDBOX_KEY_SET', status: 409 });
    expect(taken.calls).toEqual(['GET /sandboxes/web']);
    const again = fakeIo(web, { 'GET /sandboxes/web': { netnsPath: `/run/netns/${pinName('web', 'ctr2')}` } }, undefined, { pinInPlace: true });
    await runOciHook(again.io, undefined, undefined);
    expect(again.calls).toEqual(['GET /sandboxes/web', `pinIsOf ${pinName('web', 'ctr2')} 4242`]);
  });

  it('L1 this container\'s own key left stale (an earlier run whose poststop could not release it): released, then attached anew', async () => {
    const own = `/run/netns/${pinName('ctr1', 'ctr1')}`;
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: own } }, undefined, { pinInPlace: false });
    await runOciHook(io, undefined, undefined);
    expect(calls).toEqual([
      'GET /sandboxes/ctr1', `pinIsOf ${pinName('ctr1', 'ctr1')} 4242`, `DELETE /sandboxes/ctr1/key?netnsPath=${encodeURIComponent(own)}`,
      `pin ${pinName('ctr1', 'ctr1')} 4242`, `PUT /sandboxes/ctr1/key {"netnsPath":"${own}"}`,
    ]);
  });

  it('L1 poststop whose unpin fails still releases the key, then fails (exit 1, not a usage error)', async () => {
    const own = `/run/netns/${pinName('ctr1', 'ctr1')}`;
    const { io, calls } = fakeIo(stopped, { 'GET /sandboxes/ctr1': { netnsPath: own } }, undefined, { unpinFails: true });
    await expect(runOciHook(io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_CLI_HOOK_PIN' });
    expect(calls.at(-1)).toBe(`DELETE /sandboxes/ctr1/key?netnsPath=${encodeURIComponent(own)}`);
  });

  it('L1 poststop: unpins this container\'s pin first, then releases only a key that is its own (the daemon checks it too)', async () => {
    const own = `/run/netns/${pinName('ctr1', 'ctr1')}`;
    const holder = fakeIo(stopped, { 'GET /sandboxes/ctr1': { netnsPath: own } });
    await runOciHook(holder.io, undefined, undefined);
    expect(holder.calls).toEqual([`unpin ${pinName('ctr1', 'ctr1')}`, 'GET /sandboxes/ctr1', `DELETE /sandboxes/ctr1/key?netnsPath=${encodeURIComponent(own)}`]);
    // A second container that was refused the sandbox stops: the first one's key stays.
    const refused = fakeIo({ ...stopped, id: 'ctr2', annotations: { 'sandns.sandbox': 'ctr1' } }, { 'GET /sandboxes/ctr1': { netnsPath: own } });
    await runOciHook(refused.io, undefined, undefined);
    expect(refused.calls).toEqual([`unpin ${pinName('ctr1', 'ctr2')}`, 'GET /sandboxes/ctr1']);
    // A key set by an older hook (one pin name per sandbox) is released, and that pin removed.
    const legacy = fakeIo(stopped, { 'GET /sandboxes/ctr1': { netnsPath: '/run/netns/sandns-ctr1' } });
    await runOciHook(legacy.io, undefined, undefined);
    expect(legacy.calls.slice(2)).toEqual([`DELETE /sandboxes/ctr1/key?netnsPath=${encodeURIComponent('/run/netns/sandns-ctr1')}`, 'unpin sandns-ctr1']);
  });

  it('L1 poststop unpins even when the daemon is unreachable (the pin goes first)', async () => {
    const down = fakeIo(stopped, {}, 'GET');
    await expect(runOciHook(down.io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_X' });
    expect(down.calls).toEqual([`unpin ${pinName('ctr1', 'ctr1')}`, 'GET /sandboxes/ctr1']);
  });

  it('L1 a sandbox name that is no name (empty, a dot, a slash) or an annotation that is not a string: ERR_CLI_USAGE before any call', async () => {
    for (const name of ['', '.', '..', 'a/b', 'x'.repeat(65)]) {
      const { io, calls } = fakeIo({ ...stopped, annotations: { 'sandns.sandbox': name } });
      await expect(runOciHook(io, undefined, undefined), name).rejects.toMatchObject({ code: 'ERR_CLI_USAGE' });
      expect(calls).toEqual([]);
    }
    for (const bad of [5, { a: 1 }, null]) {
      expect(() => parseOciState(JSON.stringify({ ...stopped, annotations: { 'sandns.sandbox': bad } }))).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
    }
  });
});
