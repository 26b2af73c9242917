// One Run in one bubblewrap sandbox: no network (every namespace unshared), the host's /usr
// read-only, a private /tmp, the image's top-level entries at `/`, and each device bound as a file.
// stdin/stdout/stderr are host files handed over as the child's fds 0/1/2, so nothing is pumped
// through this process; RLIMIT_FSIZE caps every file the program writes (stdout included).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../core/config';
import type { Run, RunResult } from '../../core/runs';
import type { SandboxCgroup } from '../sandbox/cgroups';
import { isolationArgs } from '../sandbox/bwrap';

/** Top-level names an image may not shadow: the sandbox's own system mounts. */
const RESERVED_ROOT = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'dev', 'tmp']);

export interface SandboxRunOptions {
  config: Config;
  run: Run;
  /** Host path of each pipe named by the run's devices. */
  pipes: ReadonlyMap<string, string>;
  /** Group limiting the run; undefined where cgroups are unavailable (rlimits only). */
  cgroup: SandboxCgroup | undefined;
  /** Aborted at the plan's deadline or when a sibling failed. */
  signal: AbortSignal;
}

function bwrapArgs(opts: SandboxRunOptions): string[] {
  const { config, run, pipes } = opts;
  const args = isolationArgs(config);
  if (run.imageDir) {
    for (const entry of fs.readdirSync(run.imageDir)) {
      if (RESERVED_ROOT.has(entry)) continue;
      args.push('--ro-bind', path.join(run.imageDir, entry), `/${entry}`);
    }
  }
  for (const d of run.devices) {
    if (d.kind === 'read') args.push('--ro-bind', d.hostPath, d.sandboxPath);
    else if (d.kind === 'write') args.push('--bind', d.hostPath, d.sandboxPath);
    else {
      const host = pipes.get(d.pipe);
      if (!host) throw new Error(`run ${run.name}: pipe ${d.pipe} is not part of the plan`);
      args.push('--bind', host, d.sandboxPath);
    }
  }
  args.push('--chdir', run.cwd ?? '/', '--', run.program, ...run.args);
  return args;
}

/** Starts the run and resolves when its sandbox has exited (or was killed). */
export async function sandboxRun(opts: SandboxRunOptions): Promise<RunResult> {
  const { config, run, cgroup, signal } = opts;
  const started = Date.now();
  for (const d of run.devices) if (d.kind === 'write') fs.writeFileSync(d.hostPath, '');
  const stdin = fs.openSync(run.stdinPath ?? '/dev/null', 'r');
  const stdout = fs.openSync(run.stdoutPath, 'w');
  const stderr = fs.openSync(run.stderrPath, 'w');
  // The wrapper sets the rlimits and enters the cgroups before exec'ing bwrap, so every process in
  // the sandbox is limited from its first instruction (as the function sandboxes do).
  const fsizeBlocks = Math.max(1, Math.ceil(run.limits.maxWriteBytes / 512));
  const procs = cgroup ? cgroup.procsFiles() : [];
  const memoryLimit = cgroup ? '' : `ulimit -v ${Math.ceil(run.limits.memoryBytes / 1024)} || exit 97; `;
  const script =
    `ulimit -n "$1" && ulimit -f "$2" || exit 97; ${memoryLimit}` +
    `n=$3; shift 3; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 98; shift; n=$((n-1)); done; exec "$@"`;
  let args: string[];
  try {
    args = bwrapArgs(opts);
  } catch (err) {
    for (const fd of [stdin, stdout, stderr]) fs.closeSync(fd);
    return { name: run.name, status: 'error', exitCode: null, signal: null, wallMs: 0, detail: (err as Error).message };
  }
  const argv = ['-c', script, 'cairn-run', String(config.limits.openFiles), String(fsizeBlocks), String(procs.length), ...procs, config.executor.bwrapPath, ...args];
  // Nothing of the platform's environment reaches tenant code; the run's env is all it sees.
  const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', TMPDIR: '/tmp', ...run.env };
  const child = spawn('/bin/sh', argv, { stdio: [stdin, stdout, stderr], env });
  for (const fd of [stdin, stdout, stderr]) fs.closeSync(fd);

  let timedOut = false;
  let aborted = false;
  const kill = (): void => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
    cgroup?.killAll();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, run.limits.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });

  const { code, sig, spawnError } = await new Promise<{ code: number | null; sig: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, sig: null, spawnError: err }));
    child.once('exit', (c, s) => resolve({ code: c, sig: s }));
  });
  clearTimeout(timer);
  signal.removeEventListener('abort', onAbort);
  // Whatever survived the sandbox's pid 1 (nothing should, with --die-with-parent) goes too.
  cgroup?.killAll();
  const wallMs = Date.now() - started;
  const base = { name: run.name, wallMs };
  if (spawnError) return { ...base, status: 'error', exitCode: null, signal: null, detail: `sandbox could not start: ${spawnError.message}` };
  if (timedOut) return { ...base, status: 'timeout', exitCode: null, signal: 'SIGKILL', detail: `killed after the ${run.limits.timeoutMs} ms time limit` };
  const events = cgroup?.events();
  if (events && events.oomKills > 0) return { ...base, status: 'oom', exitCode: null, signal: 'SIGKILL', detail: `killed for using more than ${run.limits.memoryBytes} bytes of memory` };
  if (aborted) return { ...base, status: 'killed', exitCode: null, signal: 'SIGKILL', detail: typeof signal.reason === 'string' ? signal.reason : 'stopped' };
  if (code === 97 || code === 98) return { ...base, status: 'error', exitCode: null, signal: null, detail: 'sandbox limits could not be applied' };
  // bwrap reports a program killed by a signal as 128 + the signal number.
  if (sig || (code !== null && code > 128)) {
    const signo = sig ? undefined : (code as number) - 128;
    const name = sig ?? signalName(signo!);
    if (name === 'SIGXFSZ') return { ...base, status: 'output-too-long', exitCode: null, signal: name, detail: `wrote more than the ${run.limits.maxWriteBytes} bytes allowed per output` };
    return { ...base, status: 'ok', exitCode: null, signal: name, detail: `killed by ${name}` };
  }
  return { ...base, status: 'ok', exitCode: code, signal: null };
}

function signalName(signo: number): string {
  const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ' };
  return names[signo] ?? `signal ${signo}`;
}
