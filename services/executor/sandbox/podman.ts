// Image functions: one fresh podman container per execution (spec §4.9). The flags below are
// what this kind of host needs (runc, cgroupfs, explicit ulimits; crun refuses the hybrid cgroup
// layout) plus secure defaults: no network, no capabilities, read-only root file system.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Config } from '../../core/config';
import { RUN_MESSAGES, type RunRequest, type RunResult } from '../../core/execution';

/** podman exits with this when it could not run the container at all (bad image, bad flag). */
const PODMAN_ERROR_EXIT = 125;

export class PodmanRunner {
  private readonly running = new Map<string, ChildProcess>();

  constructor(private readonly config: Config) {}

  /** Why image functions cannot run here, or undefined when they can. */
  problem(): string | undefined {
    const bin = this.config.executor.podmanPath;
    if (!bin || !fs.existsSync(bin)) return `podman is not installed (${bin || 'CAIRN_PODMAN unset'}): image functions need it: apt-get install podman runc`;
    return undefined;
  }

  async run(req: RunRequest): Promise<RunResult> {
    const problem = this.problem();
    if (problem) return { status: 'error', output: problem, duration: 0, log: `${problem}\n`, warm: false };
    const { fn } = req;
    const limits = this.config.limits;
    // Container names allow [a-zA-Z0-9_.-]; the execution id makes it unique and findable.
    const name = `cairn-${req.executionId}`.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 63);
    const args = [
      'run', '--rm', '--name', name,
      '--runtime', 'runc', '--cgroup-manager=cgroupfs',
      '--pull', 'never',
      '--network', 'none',
      '--cap-drop', 'all', '--security-opt', 'no-new-privileges', '--read-only',
      '--ulimit', `nofile=${limits.openFiles}:${limits.openFiles}`,
      // RLIMIT_NPROC counts every process of the container's host uid, not just this
      // container's, so it is set generously; --pids-limit is the real cap.
      '--ulimit', `nproc=${PODMAN_NPROC}:${PODMAN_NPROC}`,
      '--pids-limit', String(limits.processes),
      '--memory', String(fn.memoryBytes),
      '--cpus', (fn.cpuMillis / 1000).toFixed(3),
      fn.image ?? '',
      ...(req.input.kind === 'none' ? [] : inputArgs(req.input.kind === 'object' ? JSON.stringify(req.input.value) : req.input.value)),
    ];
    const started = process.hrtime.bigint();
    const child = spawn(this.config.executor.podmanPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.running.set(name, child);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    const onData = (chunk: Buffer): void => {
      const room = limits.logMaxBytes - bytes;
      if (chunk.length <= room) {
        chunks.push(chunk);
        bytes += chunk.length;
      } else {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        bytes = limits.logMaxBytes;
        truncated = true;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.killContainer(name, child);
    }, fn.timeoutSeconds * 1000);
    const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    clearTimeout(timer);
    this.running.delete(name);
    const duration = Math.round(Number(process.hrtime.bigint() - started) / 1e6) / 1000;
    let printed = Buffer.concat(chunks).toString('utf8');
    if (truncated) printed += `${printed.endsWith('\n') || !printed ? '' : '\n'}[log truncated: more than ${limits.logMaxBytes} bytes were printed]\n`;
    // An image function's log is the container's own output, as the cookbook shows it (no
    // Start/Finished lines: those belong to the runtimes); platform notes follow it.
    const log = (extra = ''): string => `${printed}${printed && !printed.endsWith('\n') ? '\n' : ''}${extra}`;
    if (exit.error) return { status: 'error', output: RUN_MESSAGES.failed, duration, log: log(`podman could not be started: ${exit.error.message}\n`), warm: false };
    if (timedOut) return { status: 'failed', output: RUN_MESSAGES.timeout, duration, log: log(), warm: false };
    if (exit.code === 0) return { status: 'success', duration, log: log(), warm: false };
    if (exit.code === PODMAN_ERROR_EXIT) return { status: 'error', output: `The container could not be started (image ${fn.image}); see the log.`, duration, log: log(), warm: false };
    return { status: 'failed', output: `Container exited with code ${exit.code}.`, duration, log: log(), warm: false };
  }

  /** Kills every running container and waits (up to 15 s) for their podman clients to exit. */
  async stop(): Promise<void> {
    const exits = [...this.running].map(([name, child]) => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('close', () => resolve());
      });
      this.killContainer(name, child);
      return Promise.race([exited, new Promise<void>((r) => setTimeout(r, 15_000).unref())]);
    });
    await Promise.all(exits);
  }

  private killContainer(name: string, child: ChildProcess): void {
    // Killing the podman client alone would leave the container running under conmon; `podman
    // kill` ends it and the client (with --rm) then removes it and exits.
    const killer = spawn(this.config.executor.podmanPath, ['kill', '--signal', 'KILL', name], { stdio: 'ignore' });
    killer.on('error', () => undefined);
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 5_000).unref();
  }
}

// Above any sane pids limit yet accepted by runc here (65536 is refused); --pids-limit is the cap.
const PODMAN_NPROC = 4096;

/** Input becomes the container's args: a raw string split on whitespace (Qinling's rule). */
export function inputArgs(raw: string): string[] {
  return raw.split(/\s+/).filter(Boolean);
}
