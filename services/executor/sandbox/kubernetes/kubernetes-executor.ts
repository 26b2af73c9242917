// The Kubernetes sandbox backend (CAIRN_SANDBOX=kubernetes, executor role): function code runs in
// pods the executor creates in the runtime namespace. Per runtime, `poolSize` generic pods wait
// with the runtime server loaded; the first call of a function takes one and specialises it (its
// files streamed into the pod, the pod labelled with the function id) and later calls reuse it
// while warm. Generic pods carry the default limits; a function with other limits gets a pod of
// its own made with them (pod resources cannot change once set). Image functions run one pod per
// execution. Timeouts are the executor's own timer (the pod is deleted) and, for image pods, also
// activeDeadlineSeconds. Every pod is deleted on release, at stop, and, as an orphan, at start-up.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Config, SandboxConfig } from '../../../core/config';
import { CairnError } from '../../../core/errors';
import { functionContext, RUN_MESSAGES, type FunctionSpec, type RunRequest, type RunResult, type RuntimeKind } from '../../../core/execution';
import type { PoolStatus, WorkerView } from '../../../core/internal-api';
import { CodeCache } from '../../code-cache';
import { inputArgs } from '../podman';
import { KubeClient, labelPod, type Pod } from './kube-client';
import { PodChannel } from './pod-channel';
import { imagePod, LABELS, MANAGED_BY, runtimePod, type PodLimits } from './pod-spec';

type KubernetesSandbox = Extract<SandboxConfig, { backend: 'kubernetes' }>;
const RUNTIMES: RuntimeKind[] = ['python3', 'nodejs'];
/** How often a starting or running pod's status is read. */
const POLL_MS = 100;

interface PodEntry {
  name: string;
  runtime: RuntimeKind;
  limits: PodLimits;
  channel: PodChannel | undefined;
  ready: Promise<void>;
  state: 'starting' | 'generic' | 'specialising' | 'idle' | 'busy' | 'gone';
  lastUsed: number;
  fn: { functionId: string; version: number; codeKey: string } | undefined;
  retire: boolean;
}

export interface KubernetesExecutorDeps {
  fetchCode(fn: FunctionSpec): Promise<Buffer>;
  /** The api as pods reach it (CAIRN_API_URL): the functions' endpoints. */
  apiUrl: string;
}

export class KubernetesExecutor {
  private readonly kube: KubeClient;
  private readonly code: CodeCache;
  private readonly pods = new Set<PodEntry>();
  private readonly secret = randomBytes(16).toString('hex');
  private seq = 0;
  private stopped = false;
  private reaper: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config,
    private readonly k8s: KubernetesSandbox,
    private readonly deps: KubernetesExecutorDeps,
  ) {
    this.kube = new KubeClient(k8s.namespace, k8s.apiUrl);
    this.code = new CodeCache(path.join(config.dataDir, 'code'), config.limits, (fn) => deps.fetchCode(fn));
  }

  /** Whether the Kubernetes API answers and lets this executor list pods, as a sentence with the fix. */
  async checkHost(): Promise<string[]> {
    try {
      await this.kube.list(`${LABELS.managedBy}=${MANAGED_BY}`);
      return [];
    } catch (err) {
      const where = this.k8s.apiUrl ?? 'in-cluster or ~/.kube/config';
      return [`the Kubernetes API (${where}) does not let this executor list pods in namespace ${this.k8s.namespace} (${(err as Error).message}): check CAIRN_K8S_API_URL, the executor's service account and its Role`];
    }
  }

  /** Deletes the pods a previous executor left behind, then fills the pools. */
  async start(): Promise<void> {
    const orphans = await this.kube.list(`${LABELS.managedBy}=${MANAGED_BY}`);
    await Promise.all(orphans.map((p) => this.kube.delete(p.metadata!.name!)));
    if (orphans.length) console.warn(`[kubernetes] deleted ${orphans.length} orphaned pod(s)`);
    // Warm pods unused for idleSeconds are deleted, as warm bwrap sandboxes are stopped.
    const everyMs = Math.max(250, Math.min(30_000, (this.config.executor.idleSeconds * 1000) / 4));
    this.reaper = setInterval(() => {
      const cutoff = Date.now() - this.config.executor.idleSeconds * 1000;
      for (const p of [...this.pods]) if (p.state === 'idle' && p.lastUsed < cutoff) void this.discard(p);
    }, everyMs);
    this.reaper.unref();
    this.refill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reaper);
    await Promise.all([...this.pods].map((p) => this.discard(p)));
  }

  poolStatus(runtime: RuntimeKind): PoolStatus {
    let total = 0;
    let available = 0;
    for (const p of this.pods) {
      if (p.runtime !== runtime) continue;
      total += 1;
      if (p.state === 'generic') available += 1;
    }
    return { total, available };
  }

  workers(functionId: string): WorkerView[] {
    return [...this.pods].filter((p) => p.fn?.functionId === functionId).map((p) => ({ functionId, version: p.fn!.version, name: p.name }));
  }

  release(functionId: string, version?: number): void {
    for (const p of [...this.pods]) {
      if (p.fn?.functionId !== functionId || (version !== undefined && p.fn.version !== version)) continue;
      if (p.state === 'idle') void this.discard(p);
      else p.retire = true;
    }
  }

  async run(req: RunRequest): Promise<RunResult> {
    if (this.stopped) throw new CairnError('executor.stopped');
    if (req.fn.kind === 'image') return this.runImage(req);
    if (!req.fn.runtime) return platformError(req, 'The function has no runtime.');
    let pod: PodEntry;
    let warm = false;
    const idle = [...this.pods].find((p) => p.state === 'idle' && p.fn?.codeKey === req.fn.codeKey);
    try {
      if (idle) {
        idle.state = 'busy';
        pod = idle;
        warm = true;
      } else pod = await this.specialise(req.fn);
    } catch (err) {
      if (err instanceof CairnError) throw err;
      return platformError(req, `The runtime pod could not be prepared: ${(err as Error).message}`);
    }
    const outcome = await pod.channel!.call(
      { id: req.executionId, entry: req.fn.entry || 'main.main', input: req.input, context: this.context(req) },
      req.fn.timeoutSeconds * 1000,
      this.config.limits.logMaxBytes,
    );
    const id = req.executionId;
    const log = (printed: string, note = ''): string => `Start execution: ${id}\n${printed}${printed && !printed.endsWith('\n') ? '\n' : ''}${note}Finished execution: ${id}\n`;
    pod.lastUsed = Date.now();
    if (outcome.kind === 'reply' && !pod.retire) pod.state = 'idle';
    else void this.discard(pod);
    switch (outcome.kind) {
      case 'reply':
        return outcome.reply.ok
          ? { status: 'success', output: outcome.reply.output ?? null, duration: outcome.reply.duration, log: log(outcome.log), warm }
          : { status: 'failed', output: outcome.reply.error ?? RUN_MESSAGES.failed, duration: outcome.reply.duration, log: log(outcome.log), warm };
      case 'timeout':
        return { status: 'failed', output: RUN_MESSAGES.timeout, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log), warm };
      case 'died':
        return { status: 'failed', output: RUN_MESSAGES.failed, duration: round3(outcome.elapsedMs / 1000), log: log(outcome.log, `The runtime pod ended unexpectedly (${outcome.exit}).\n`), warm };
    }
  }

  /** A pod bound to fn: a generic one of the default limits, or a new one made with fn's. */
  private async specialise(fn: FunctionSpec): Promise<PodEntry> {
    const limits = { cpuMillis: fn.cpuMillis, memoryBytes: fn.memoryBytes + this.config.executor.runtimeOverheadBytes };
    const fits = (p: PodEntry): boolean => p.runtime === fn.runtime && p.limits.cpuMillis === limits.cpuMillis && p.limits.memoryBytes === limits.memoryBytes;
    let pod = [...this.pods].find((p) => p.state === 'generic' && fits(p)) ?? [...this.pods].find((p) => p.state === 'starting' && fits(p));
    if (!pod) {
      if (this.pods.size >= this.config.executor.maxSandboxes) throw new CairnError('execution.queue_full', { id: fn.functionId });
      pod = this.create(fn.runtime!, limits);
    }
    pod.state = 'specialising';
    pod.fn = { functionId: fn.functionId, version: fn.version, codeKey: fn.codeKey };
    this.refill();
    try {
      const [dir] = await Promise.all([this.code.dirFor(fn), pod.ready]);
      const deadline = Date.now() + this.k8s.podStartSeconds * 1000;
      await Promise.all([pod.channel!.upload(dir, deadline), labelPod(this.kube, pod.name, LABELS.function, fn.functionId)]);
      pod.state = 'busy';
      return pod;
    } catch (err) {
      void this.discard(pod);
      throw err;
    }
  }

  /** Keeps poolSize generic pods of the default limits per runtime. */
  private refill(): void {
    if (this.stopped) return;
    const limits = this.defaultLimits();
    for (const runtime of RUNTIMES) {
      let generic = [...this.pods].filter((p) => p.runtime === runtime && (p.state === 'generic' || p.state === 'starting')).length;
      while (generic < this.config.executor.poolSize && this.pods.size < this.config.executor.maxSandboxes) {
        this.create(runtime, limits);
        generic += 1;
      }
    }
  }

  private defaultLimits(): PodLimits {
    const l = this.config.limits;
    return { cpuMillis: l.cpu.default, memoryBytes: l.memorySize.default + this.config.executor.runtimeOverheadBytes };
  }

  private create(runtime: RuntimeKind, limits: PodLimits): PodEntry {
    const name = `cairn-${runtime}-${process.pid.toString(36)}-${(++this.seq).toString(36)}-${randomBytes(3).toString('hex')}`;
    const entry: PodEntry = { name, runtime, limits, channel: undefined, ready: Promise.resolve(), state: 'starting', fn: undefined, retire: false, lastUsed: Date.now() };
    this.pods.add(entry);
    const spec = runtimePod({
      name,
      runtime,
      image: this.k8s.images[runtime],
      version: this.config.version,
      runtimeDir: this.k8s.imageRuntimeDir,
      controlPort: this.k8s.controlPort,
      secret: this.secret,
      limits,
      tmpBytes: this.config.limits.tmpBytes,
      functionDirBytes: this.config.limits.unpackedMaxBytes,
    });
    entry.ready = (async () => {
      const deadline = Date.now() + this.k8s.podStartSeconds * 1000;
      await this.kube.create(spec);
      const pod = await this.until(name, deadline, (p) => p.status?.phase === 'Running' && !!p.status.podIP);
      const channel = new PodChannel(pod.status!.podIP!, this.k8s.controlPort, this.secret);
      entry.channel = channel;
      await channel.open(deadline);
      if (entry.state === 'starting') entry.state = 'generic';
    })();
    entry.ready.catch((err: Error) => {
      console.warn(`[kubernetes] pod ${name} did not start: ${err.message}`);
      void this.discard(entry);
    });
    return entry;
  }

  /** Polls the pod until `done` holds; a pod that ended or vanished is an error. */
  private async until(name: string, deadline: number, done: (p: Pod) => boolean, endedIsDone = false): Promise<Pod> {
    for (;;) {
      const pod = await this.kube.read(name);
      if (!pod) throw new Error(`pod ${name} was deleted`);
      if (done(pod)) return pod;
      const phase = pod.status?.phase;
      if (!endedIsDone && (phase === 'Failed' || phase === 'Succeeded')) throw new Error(`pod ${name} ended (${phase}: ${pod.status?.reason ?? ''} ${pod.status?.message ?? ''})`);
      if (Date.now() > deadline) throw new Error(`pod ${name} not ready within ${this.k8s.podStartSeconds} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async discard(p: PodEntry): Promise<void> {
    if (p.state === 'gone') return;
    p.state = 'gone';
    this.pods.delete(p);
    p.channel?.close();
    await this.kube.delete(p.name).catch((err: Error) => console.warn(`[kubernetes] delete ${p.name}: ${err.message}`));
    if (!this.stopped) setImmediate(() => this.refill());
  }

  /** One pod per execution: the image's entrypoint with the input as args; the log is the pod's log. */
  private async runImage(req: RunRequest): Promise<RunResult> {
    const { fn } = req;
    const name = `cairn-image-${req.executionId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
    const args = req.input.kind === 'none' ? [] : inputArgs(req.input.kind === 'object' ? JSON.stringify(req.input.value) : req.input.value);
    const started = Date.now();
    const duration = (): number => round3((Date.now() - started) / 1000);
    try {
      await this.kube.create(imagePod({ name, fn, version: this.config.version, args, tmpBytes: this.config.limits.tmpBytes }));
      const ended = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
      // Scheduling and the image pull do not count against the function's timeout.
      await this.until(name, started + this.k8s.podStartSeconds * 1000, (p) => p.status?.phase === 'Running' || ended(p), true);
      const running = Date.now();
      let pod: Pod;
      try {
        // The executor's own timer backs up activeDeadlineSeconds (which the kubelet counts from the start).
        pod = await this.until(name, running + fn.timeoutSeconds * 1000, ended, true);
      } catch {
        return { status: 'failed', output: RUN_MESSAGES.timeout, duration: duration(), log: await this.kube.log(name, this.config.limits.logMaxBytes).catch(() => ''), warm: false };
      }
      const log = await this.kube.log(name, this.config.limits.logMaxBytes);
      if (pod.status?.phase === 'Succeeded') return { status: 'success', duration: duration(), log, warm: false };
      if (pod.status?.reason === 'DeadlineExceeded') return { status: 'failed', output: RUN_MESSAGES.timeout, duration: duration(), log, warm: false };
      const exit = pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
      return { status: 'failed', output: exit === undefined ? RUN_MESSAGES.failed : `Container exited with code ${exit}.`, duration: duration(), log, warm: false };
    } catch (err) {
      return platformError(req, `The function's pod could not run: ${(err as Error).message}`);
    } finally {
      await this.kube.delete(name).catch(() => undefined);
    }
  }

  private context(req: RunRequest): Record<string, unknown> {
    return functionContext(req, this.deps.apiUrl);
  }
}

function platformError(req: RunRequest, reason: string): RunResult {
  return { status: 'error', output: RUN_MESSAGES.failed, duration: 0, log: `Execution ${req.executionId} could not run: ${reason}\n`, warm: false };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
