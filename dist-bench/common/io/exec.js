/**
 * Running external commands (ip, nsenter) through execa. Failures become
 * ExecError with argv and stderr, so a caller sees what failed and why.
 */
import { execa } from 'execa';
import { ExecError } from '../errors.js';
/** Run a command; throw ExecError (ERR_EXEC_FAILED) on a non-zero exit. */
export async function run(file, args, options = {}) {
    const argv = [file, ...args];
    try {
        const result = await execa(file, args, {
            input: options.input ?? '',
            timeout: options.timeoutMs ?? 30_000,
            env: { LC_ALL: 'C' },
            stripFinalNewline: true,
        });
        return { stdout: result.stdout, stderr: result.stderr };
    }
    catch (err) {
        const e = err;
        const stderr = typeof e.stderr === 'string' && e.stderr !== '' ? e.stderr : String(e.shortMessage ?? err);
        throw new ExecError(argv, stderr, { cause: err });
    }
}
/** Run `ip` with the given arguments (optionally inside a named netns via -n). */
export function ip(args, options = {}) {
    return run('ip', args, options);
}
/** Run `ip -batch -` with one command per line; all or nothing is not guaranteed by ip. */
export function ipBatch(lines) {
    return run('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}
/** Run `ip -j ...` and parse its JSON output. */
export async function ipJson(args) {
    const { stdout } = await run('ip', ['-j', ...args]);
    return (stdout.trim() === '' ? [] : JSON.parse(stdout));
}
/** Run a command inside the network namespace at `nsPath` (nsenter --net). */
export function runInNetns(nsPath, file, args, options = {}) {
    return run('nsenter', [`--net=${nsPath}`, '--', file, ...args], options);
}
/** Run `ip -batch -` inside the network namespace at `nsPath`. */
export function ipBatchInNetns(nsPath, lines) {
    return runInNetns(nsPath, 'ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}
//# sourceMappingURL=exec.js.map