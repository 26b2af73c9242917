// The executor's side of a plan of Runs sent by the api (core/run-wire.ts): the staged files are
// written into a fresh job directory, the plan runs in this process's run sandboxes with its paths
// moved there, and the files the runs wrote go back followed by the results. The api is trusted
// (it holds the shared secret), yet the plan may name only files of its own job directory, and,
// read-only, the platform's runtime files: nothing else of this host enters a sandbox.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type * as http from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../core/errors';
import { fileBytes, FrameError, FrameReader, frameHeader, hostPathOf, receiveTree, RUN_FRAMES_TYPE, type RequestFrame } from '../../core/run-wire';
import type { DeviceBinding, Run, RunExecutor, RunPlan } from '../../core/runs';

/** What the route needs: the run sandboxes, and which absolute paths are platform files. */
export interface PlanRunner {
  runs: RunExecutor;
  /** Absolute paths a read device may name (the runtime directory, Node.js). */
  platformPaths: string[];
}

export async function servePlan(runner: PlanRunner, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const job = await runner.runs.workDir('remote');
  try {
    const frames = new FrameReader(req);
    let plan: RunPlan;
    let outputs: string[];
    try {
      const first = await frames.next<RequestFrame>();
      if (first?.t !== 'plan') throw bad('the body does not start with a plan');
      ({ plan, outputs } = localPlan(runner, job, first.plan));
      await receiveTree(frames, job);
    } catch (err) {
      if (err instanceof FrameError) throw bad(err.message);
      throw err;
    }
    const results = await runner.runs.execute(plan);
    res.writeHead(200, { 'content-type': RUN_FRAMES_TYPE });
    await pipeline(Readable.from(answer(job, outputs, results)), res);
  } finally {
    await runner.runs.release(job);
  }
}

function bad(reason: string): CairnError {
  return new CairnError('request.invalid_param', { name: 'plan', reason });
}

/** The plan with its paths in `job`; checked where a wrong shape would crash or escape a sandbox. */
function localPlan(runner: PlanRunner, job: string, wire: RunPlan): { plan: RunPlan; outputs: string[] } {
  if (!wire || !Array.isArray(wire.runs) || wire.runs.length === 0 || !(wire.timeoutMs > 0)) throw bad('runs and timeoutMs are required');
  const outputs = new Set<string>();
  const inJob = (p: unknown, what: string): string => {
    const host = hostPathOf(job, p as string);
    if (!host) throw bad(`${what} ${String(p)} is not in the job directory`);
    return host;
  };
  const written = (p: unknown, what: string): string => {
    const host = inJob(p, what);
    outputs.add(p as string);
    return host;
  };
  const readable = (p: unknown, what: string): string => {
    if (typeof p === 'string' && path.isAbsolute(p)) {
      const norm = path.resolve(p);
      if (runner.platformPaths.some((a) => norm === a || norm.startsWith(a + path.sep))) return norm;
      throw bad(`${what} ${p} is not a platform file`);
    }
    return inJob(p, what);
  };
  const runs = wire.runs.map((r: Run): Run => {
    const l = r?.limits;
    if (typeof r?.name !== 'string' || typeof r.program !== 'string' || !Array.isArray(r.args) || typeof r.env !== 'object' || !Array.isArray(r.devices) || !l) {
      throw bad('a run without name, program, args, env, devices or limits');
    }
    if (![l.timeoutMs, l.memoryBytes, l.processes, l.maxWriteBytes].every((n) => typeof n === 'number' && n > 0)) throw bad(`run ${r.name} has invalid limits`);
    const devices = r.devices.map((d: DeviceBinding): DeviceBinding => {
      if (d?.kind === 'read') return { kind: 'read', hostPath: readable(d.hostPath, 'device'), sandboxPath: String(d.sandboxPath) };
      if (d?.kind === 'write') return { kind: 'write', hostPath: written(d.hostPath, 'device'), sandboxPath: String(d.sandboxPath) };
      if (d?.kind === 'pipe' && (d.end === 'read' || d.end === 'write')) return { kind: 'pipe', pipe: String(d.pipe), end: d.end, sandboxPath: String(d.sandboxPath) };
      throw bad(`run ${r.name} has a device of an unknown kind`);
    });
    return {
      name: r.name,
      program: r.program,
      args: r.args.map(String),
      env: Object.fromEntries(Object.entries(r.env).map(([k, v]) => [k, String(v)])),
      cwd: r.cwd === undefined ? undefined : String(r.cwd),
      imageDir: r.imageDir === undefined ? undefined : inJob(r.imageDir, 'imageDir'),
      stdinPath: r.stdinPath === undefined ? undefined : inJob(r.stdinPath, 'stdinPath'),
      stdoutPath: written(r.stdoutPath, 'stdoutPath'),
      stderrPath: written(r.stderrPath, 'stderrPath'),
      devices,
      limits: { timeoutMs: l.timeoutMs, memoryBytes: l.memoryBytes, processes: l.processes, maxWriteBytes: l.maxWriteBytes },
    };
  });
  // The runs write into directories the api staged; those that held only outputs are made here.
  for (const o of outputs) fs.mkdirSync(path.dirname(hostPathOf(job, o)!), { recursive: true });
  return { plan: { timeoutMs: wire.timeoutMs, runs }, outputs: [...outputs] };
}

/** Every file the runs wrote (whatever their status: stderr explains a failure), then the results. */
async function* answer(job: string, outputs: string[], results: unknown[]): AsyncGenerator<Buffer> {
  for (const o of outputs) {
    const p = hostPathOf(job, o)!;
    const st = await fsp.stat(p).catch(() => undefined);
    if (!st?.isFile()) continue;
    yield frameHeader({ t: 'file', path: o, size: st.size });
    yield* fileBytes(p, st.size);
  }
  yield frameHeader({ t: 'results', results: results as never });
}
