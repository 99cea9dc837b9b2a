/**
 * The whole CLI (runCli) against a fake API: every request is recorded and
 * `answer` decides its response (a thrown error is the daemon's refusal).
 */
import { runCli } from '../../../bin/cli/program.js';
import type { ApiClient } from '../../../bin/cli/client.js';

/** One request the CLI made. */
export interface Call {
  socket: string;
  method: string;
  path: string;
  body?: unknown;
}

/** Run `argv`; `confirm` answers a prompt (absent: the CLI has no terminal to ask). */
export async function cli(
  argv: string[],
  answer: (c: Call) => unknown = () => ({}),
  env: Record<string, string> = {},
  confirm?: (question: string) => Promise<boolean>,
): Promise<{ code: number; stdout: string; stderr: string; calls: Call[] }> {
  const calls: Call[] = [];
  let stdout = '';
  let stderr = '';
  const connect = (socket: string): ApiClient => ({
    socketPath: socket,
    async call<T>(method: string, path: string, body?: unknown) {
      const c = { socket, method, path, ...(body === undefined ? {} : { body }) };
      calls.push(c);
      return answer(c) as T;
    },
    async text(path: string) {
      calls.push({ socket, method: 'GET', path });
      return answer({ socket, method: 'GET', path }) as string;
    },
  });
  const io = { stdout: (s: string) => (stdout += s), stderr: (s: string) => (stderr += s), env, connect, ...(confirm === undefined ? {} : { confirm }) };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, calls };
}
