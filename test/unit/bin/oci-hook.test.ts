import { describe, expect, it } from 'vitest';
import { hookAction, parseOciState, pinName, runOciHook, sandboxOf, type HookIo } from '../../../bin/cli/commands-hook.js';
import type { ApiClient } from '../../../bin/cli/client.js';

const creating = { ociVersion: '1.0.2-dev', id: 'ctr1', status: 'creating', pid: 4242, bundle: '/b' };
const stopped = { ociVersion: '1.0.2-dev', id: 'ctr1', status: 'stopped', bundle: '/b' };

/** A hook world that records what it was asked to do. */
function fakeIo(state: object, answers: Record<string, unknown> = {}, fail?: string) {
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
    unpin: async (name) => void calls.push(`unpin ${name}`),
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

  it('L1 createRuntime: checks the sandbox is free, pins the namespace by pid, then sets the key', async () => {
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: '' } });
    expect(await runOciHook(io, undefined, undefined)).toEqual({ action: 'attach', sandbox: 'ctr1' });
    expect(calls).toEqual(['GET /sandboxes/ctr1', `pin ${pinName('ctr1')} 4242`, `PUT /sandboxes/ctr1/key {"netnsPath":"/run/netns/${pinName('ctr1')}"}`]);
  });

  it('L1 a refused key is unpinned again and fails the hook (the runtime then aborts the container)', async () => {
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: '' } }, 'PUT');
    await expect(runOciHook(io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_X' });
    expect(calls.at(-1)).toBe(`unpin ${pinName('ctr1')}`);
  });

  it('L1 a sandbox attached already is refused before anything is pinned', async () => {
    const { io, calls } = fakeIo(creating, { 'GET /sandboxes/ctr1': { netnsPath: '/run/netns/other' } });
    await expect(runOciHook(io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_CLI_USAGE' });
    expect(calls).toEqual(['GET /sandboxes/ctr1']);
  });

  it('L1 poststop releases the key and unpins, even when the daemon is unreachable', async () => {
    const ok = fakeIo(stopped);
    await runOciHook(ok.io, undefined, undefined);
    expect(ok.calls).toEqual(['DELETE /sandboxes/ctr1/key', `unpin ${pinName('ctr1')}`]);
    const down = fakeIo(stopped, {}, 'DELETE');
    await expect(runOciHook(down.io, undefined, undefined)).rejects.toMatchObject({ code: 'ERR_X' });
    expect(down.calls.at(-1)).toBe(`unpin ${pinName('ctr1')}`);
  });
});
