// cgroup v1 limits for sandboxes. Each executor owns one parent group per controller,
// `<root>/<controller>/cairn-<pid>`, and each sandbox one child group under it. The pid in the
// parent's name lets a restarted executor remove what a dead one left behind.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
export type Controller = (typeof CONTROLLERS)[number];

/** CFS period; the quota is the share of it a function may use. */
const CFS_PERIOD_US = 100_000;

/** Limits applied to one sandbox's group; each can be changed while the sandbox runs. */
export interface CgroupLimits {
  memoryBytes: number;
  /** millicpu; 0 = unlimited (generic pool sandboxes warm up at full speed). */
  cpuMillis: number;
  processes: number;
}

/** What went wrong inside a group, read after a run or a death. */
export interface CgroupEvents {
  oomKills: number;
  pidsMaxHits: number;
}

let treeSeq = 0;

/** The executor's parent groups: creates, cleans and removes them. */
export class CgroupTree {
  readonly name: string;

  constructor(
    readonly root: string,
    ownerPid: number = process.pid,
  ) {
    // The sequence number keeps two executors of one process (tests) apart.
    this.name = `cairn-${ownerPid}-${++treeSeq}`;
  }

  /** Problems that stop the tree from working here (missing controller, not writable). */
  check(): string[] {
    const problems: string[] = [];
    for (const c of CONTROLLERS) {
      const dir = path.join(this.root, c);
      try {
        fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
      } catch {
        problems.push(`cgroup v1 controller "${c}" is not mounted writable at ${dir}: sandbox limits need it (run as root on a host with cgroup v1 or hybrid mounts)`);
      }
    }
    return problems;
  }

  /** Creates the parent groups, after removing stale ones whose owner process is dead. */
  create(): void {
    for (const c of CONTROLLERS) {
      const base = path.join(this.root, c);
      for (const entry of safeReaddir(base)) {
        const m = /^cairn-(\d+)(-\d+)?$/.exec(entry);
        if (m && !pidAlive(Number(m[1]))) removeTree(path.join(base, entry));
      }
      fs.mkdirSync(path.join(base, this.name), { recursive: true });
    }
  }

  /** Creates one sandbox's groups. */
  group(sandboxName: string, limits: CgroupLimits): SandboxCgroup {
    const g = new SandboxCgroup(
      Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(this.root, c, this.name, sandboxName)])) as Record<Controller, string>,
    );
    for (const dir of Object.values(g.dirs)) fs.mkdirSync(dir, { recursive: true });
    g.apply(limits);
    return g;
  }

  /** Removes the parent groups (children first); processes still inside are killed. */
  remove(): void {
    for (const c of CONTROLLERS) removeTree(path.join(this.root, c, this.name));
  }
}

/** One sandbox's groups, one directory per controller. */
export class SandboxCgroup {
  constructor(readonly dirs: Record<Controller, string>) {}

  /** The files a launcher writes its own pid into before it execs the sandbox. */
  procsFiles(): string[] {
    return CONTROLLERS.map((c) => path.join(this.dirs[c], 'cgroup.procs'));
  }

  apply(limits: CgroupLimits): void {
    write(path.join(this.dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    write(path.join(this.dirs.cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    write(path.join(this.dirs.cpu, 'cpu.cfs_quota_us'), limits.cpuMillis > 0 ? String(Math.round((limits.cpuMillis * CFS_PERIOD_US) / 1000)) : '-1');
    write(path.join(this.dirs.pids, 'pids.max'), String(limits.processes));
  }

  events(): CgroupEvents {
    const oom = /oom_kill (\d+)/.exec(read(path.join(this.dirs.memory, 'memory.oom_control')));
    const pids = /max (\d+)/.exec(read(path.join(this.dirs.pids, 'pids.events')));
    return { oomKills: oom ? Number(oom[1]) : 0, pidsMaxHits: pids ? Number(pids[1]) : 0 };
  }

  /** SIGKILLs every process in the group (cgroup v1 has no cgroup.kill). */
  killAll(): void {
    for (const pid of readPids(this.dirs.pids)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Removes the groups once empty; returns false while processes remain. */
  remove(): boolean {
    let removed = true;
    for (const dir of Object.values(this.dirs)) {
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') removed = false;
      }
    }
    return removed;
  }
}

function write(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readPids(dir: string): number[] {
  return read(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed owner whose parent has not reaped it yet still answers signal 0: a zombie is dead.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Depth-first removal of a group tree, killing what is left inside each group. */
function removeTree(dir: string): void {
  for (const entry of safeReaddir(dir)) {
    const child = path.join(dir, entry);
    try {
      if (fs.statSync(child).isDirectory()) removeTree(child);
    } catch {
      /* vanished */
    }
  }
  for (const pid of readPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  // Killed processes leave the group asynchronously; retry briefly.
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
