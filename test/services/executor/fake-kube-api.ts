// A recording fake of the Kubernetes API for the executor's pod backend (tests name it "mocked
// Kubernetes API"): a real HTTP server on loopback with the pod endpoints the backend uses
// (create, get, list by label, JSON patch of labels, delete, log). Its "kubelet" runs each pod's
// command as a local process in a PID namespace of its own, as a pod has (the runtime servers kill
// every other process they can see after a call: on the host that would be everything), and on
// a loopback address of its own (127.0.0.N, the pod IP), with
// `/function` mapped to a scratch directory (the emptyDir); images of image functions map to
// commands given by the test. activeDeadlineSeconds is enforced as the kubelet would.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Recorded {
  method: string;
  path: string;
  body: any;
}

interface FakePod {
  manifest: any;
  child?: ChildProcess;
  log: string;
  dir: string;
  deadline?: NodeJS.Timeout;
}

export class FakeKubeApi {
  readonly requests: Recorded[] = [];
  readonly pods = new Map<string, FakePod>();
  private server?: http.Server;
  private nextIp = 2;
  url = '';

  constructor(private readonly images: Record<string, string[]> = {}) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString()));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const name of [...this.pods.keys()]) this.remove(name);
    await new Promise((r) => this.server?.close(r));
  }

  /** Pre-existing pod (an orphan of an earlier executor), never started. */
  seed(manifest: any): void {
    this.pods.set(manifest.metadata.name, { manifest: { ...manifest, status: { phase: 'Running', podIP: '127.0.0.250' } }, log: '', dir: '' });
  }

  created(): any[] {
    return this.requests.filter((r) => r.method === 'POST').map((r) => r.body);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = text ? JSON.parse(text) : undefined;
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, body });
    const send = (status: number, obj: unknown, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof obj === 'string' ? obj : JSON.stringify(obj));
    };
    const notFound = (name: string) => send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `pods "${name}" not found` });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (!m) return send(404, { kind: 'Status', code: 404 });
    const [, ns, name, log] = m;
    if (!name && req.method === 'POST') {
      const pod = { ...body, metadata: { ...body.metadata, namespace: ns, uid: `uid-${body.metadata.name}` }, status: { phase: 'Pending' } };
      this.pods.set(pod.metadata.name, { manifest: pod, log: '', dir: fs.mkdtempSync(path.join(os.tmpdir(), 'fake-pod-')) });
      setTimeout(() => this.schedule(pod.metadata.name), 20);
      return send(201, pod);
    }
    if (!name && req.method === 'GET') {
      const [k, v] = (url.searchParams.get('labelSelector') ?? '=').split('=');
      const items = [...this.pods.values()].map((p) => p.manifest).filter((p) => !k || p.metadata.labels?.[k] === v);
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
    }
    const pod = this.pods.get(name);
    if (!pod) return notFound(name);
    if (log) return send(200, pod.log, 'text/plain');
    if (req.method === 'GET') return send(200, pod.manifest);
    if (req.method === 'PATCH') {
      for (const op of body as { op: string; path: string; value: string }[]) {
        const key = op.path.replace('/metadata/labels/', '').replace(/~1/g, '/').replace(/~0/g, '~');
        pod.manifest.metadata.labels[key] = op.value;
      }
      return send(200, pod.manifest);
    }
    if (req.method === 'DELETE') {
      this.remove(name);
      return send(200, pod.manifest);
    }
    send(405, { kind: 'Status', code: 405 });
  }

  /** The kubelet: runs the container's command with the pod IP, or the image's stand-in command. */
  private schedule(name: string): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    const ip = `127.0.0.${this.nextIp++}`;
    const c = pod.manifest.spec.containers[0];
    const argv: string[] = c.command ? c.command.map((a: string) => (a === '/function' ? pod.dir : a)) : [...(this.images[c.image] ?? ['/bin/false']), ...(c.args ?? [])];
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const e of c.env ?? []) env[e.name] = e.valueFrom?.fieldRef?.fieldPath === 'status.podIP' ? ip : e.value;
    env.HOME = env.TMPDIR = pod.dir;
    // --kill-child: the namespace's first process (and with it every other) dies with unshare.
    const child = spawn('/usr/bin/unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], { env, cwd: pod.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    pod.child = child;
    child.stdout!.on('data', (d: Buffer) => (pod.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (pod.log += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(pod.deadline);
      if (pod.manifest.status.reason === 'DeadlineExceeded') return;
      pod.manifest.status = { ...pod.manifest.status, phase: code === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: c.name, state: { terminated: { exitCode: code ?? 137 } } }] };
    });
    pod.manifest.status = { phase: 'Running', podIP: ip };
    const deadline = pod.manifest.spec.activeDeadlineSeconds;
    if (deadline) {
      pod.deadline = setTimeout(() => {
        pod.manifest.status = { phase: 'Failed', reason: 'DeadlineExceeded', podIP: ip };
        child.kill('SIGKILL');
      }, deadline * 1000);
    }
  }

  private remove(name: string): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    this.pods.delete(name);
    clearTimeout(pod.deadline);
    pod.child?.kill('SIGKILL');
    if (pod.dir) fs.rmSync(pod.dir, { recursive: true, force: true });
  }
}
