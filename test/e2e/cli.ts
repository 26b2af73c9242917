// Runs the real `openstack` and `swift` CLIs (Debian packages) with a given environment.
import { execFile } from 'node:child_process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(cmd: 'openstack' | 'swift', args: string[], env: Record<string, string>, opts: { cwd?: string; input?: Buffer; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      `/usr/bin/${cmd}`,
      args,
      {
        cwd: opts.cwd,
        // Only what the CLI needs: no OS_* from the developer's shell leaks into the test.
        env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...env },
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input) child.stdin?.end(opts.input);
  });
}

/** Runs a command that must succeed and parses its `-f json` output. */
export async function cliJson<T = Record<string, unknown>>(cmd: 'openstack' | 'swift', args: string[], env: Record<string, string>, cwd?: string): Promise<T> {
  const r = await runCli(cmd, [...args, '-f', 'json'], env, { cwd });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export async function cliOk(cmd: 'openstack' | 'swift', args: string[], env: Record<string, string>, opts: { cwd?: string; input?: Buffer } = {}): Promise<string> {
  const r = await runCli(cmd, args, env, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
