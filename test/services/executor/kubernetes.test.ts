// The Kubernetes sandbox backend against a recording fake of the Kubernetes API (a loopback HTTP
// server whose "kubelet" runs each pod's command as a local process in its own PID namespace):
// the pod specs it sends,
// specialisation of generic pods, executions end to end, timeouts, and the orphan sweep.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type Config } from '../../../services/core/config';
import type { FunctionSpec, RunRequest } from '../../../services/core/execution';
import { KubernetesExecutor } from '../../../services/executor/sandbox/kubernetes/kubernetes-executor';
import { makeZip } from '../../helpers/zip';
import { FakeKubeApi } from './fake-kube-api';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
let kube: FakeKubeApi;
let executor: KubernetesExecutor;
let config: Config;
let dataDir: string;
const packages = new Map<string, Buffer>();

function spec(id: string, over: Partial<FunctionSpec> = {}): FunctionSpec {
  return { functionId: id, version: 0, projectId: 'p1', kind: 'package', runtime: 'python3', entry: 'main.main', codeKey: `package:${id}:1`, timeoutSeconds: 5, cpuMillis: 100, memoryBytes: 32 * MiB, ...over };
}
function request(fn: FunctionSpec, input: RunRequest['input'] = { kind: 'none' }): RunRequest {
  return { executionId: `ex-${Math.random().toString(16).slice(2, 10)}`, fn, input, caller: { token: 't', projectId: 'p1', userId: 'u1', region: 'RegionOne' } };
}
const podsOf = (kind: string) => [...kube.pods.values()].map((p) => p.manifest).filter((m) => m.metadata.labels['cairn.io/pod-kind'] === kind);

beforeAll(async () => {
  kube = new FakeKubeApi({ 'registry.test/echo:1': ['/bin/sh', '-c', 'echo "image says $*"', 'sh'], 'registry.test/sleep:1': ['/bin/sleep', '30'] });
  await kube.start();
  // An orphan of an earlier executor, and a pod that is none of ours.
  kube.seed({ metadata: { name: 'cairn-python3-old-1', labels: { 'app.kubernetes.io/managed-by': 'cairn-executor', 'cairn.io/version': '0.0.1' } }, spec: { containers: [] } });
  kube.seed({ metadata: { name: 'someone-else', labels: { app: 'other' } }, spec: { containers: [] } });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-k8s-'));
  config = loadConfig({}, {
    CAIRN_ROLE: 'executor', CAIRN_INTERNAL_TOKEN: 'k8s-test-internal-token-000', CAIRN_API_URL: 'http://127.0.0.1:9',
    CAIRN_DATA_DIR: dataDir, CAIRN_POOL_SIZE: '1', CAIRN_SANDBOX: 'kubernetes', CAIRN_K8S_API_URL: kube.url, CAIRN_K8S_NAMESPACE: 'cairn-runtimes',
    CAIRN_K8S_IMAGE_PYTHON3: 'registry.test/cairn-runtime-python3:1.2.3', CAIRN_K8S_IMAGE_NODEJS: 'registry.test/cairn-runtime-nodejs:1.2.3',
    CAIRN_K8S_IMAGE_RUNTIME_DIR: path.resolve(__dirname, '../../../functions-runtime'), CAIRN_VERSION: '1.2.3',
  });
  packages.set('package:hello:1', await makeZip({ 'main.py': "def main(name='World', **kw):\n    print('hi from the pod')\n    return 'Hello, %s' % name\n" }));
  packages.set('package:big:1', await makeZip({ 'main.py': 'def main(**kw):\n    return 42\n' }));
  packages.set('package:slow:1', await makeZip({ 'main.py': 'import time\ndef main(**kw):\n    time.sleep(30)\n' }));
  packages.set('package:node:1', await makeZip({ 'main.js': 'exports.main = async (ctx, input) => `node says ${input.name}`;\n' }));
  executor = new KubernetesExecutor(config, config.sandbox as Extract<Config['sandbox'], { backend: 'kubernetes' }>, {
    apiUrl: 'http://127.0.0.1:9',
    fetchCode: async (fn) => packages.get(fn.codeKey)!,
  });
  await executor.start();
});

afterAll(async () => {
  await executor?.stop();
  await kube?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('start-up deletes orphaned pods by label and fills the pools with restricted, labelled pods (mocked Kubernetes API)', async () => {
  expect(kube.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/api/v1/namespaces/cairn-runtimes/pods/cairn-python3-old-1?gracePeriodSeconds=0']);
  expect(kube.pods.has('someone-else')).toBe(true);
  // The pools fill in the background: one generic pod per runtime, started and connected.
  for (let i = 0; i < 200 && (executor.poolStatus('python3').available < 1 || executor.poolStatus('nodejs').available < 1); i++) await new Promise((r) => setTimeout(r, 50));
  expect([executor.poolStatus('python3'), executor.poolStatus('nodejs')]).toEqual([{ total: 1, available: 1 }, { total: 1, available: 1 }]);
  const runtimes = kube.created().map((p) => p.metadata.labels['cairn.io/runtime']).sort();
  expect(runtimes).toEqual(['nodejs', 'python3']);
  for (const pod of kube.created()) {
    expect(pod.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'cairn-executor', 'cairn.io/version': '1.2.3' });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false, securityContext: { runAsNonRoot: true } });
    const [c] = pod.spec.containers;
    expect(c.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } }));
    // The default function limits plus the runtime's overhead; requests equal limits.
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: String(32 * MiB + 128 * MiB) }, limits: { cpu: '100m', memory: String(32 * MiB + 128 * MiB) } });
    expect(c.image).toMatch(/^registry\.test\/cairn-runtime-(python3|nodejs):1\.2\.3$/);
  }
});

test('an execution specialises a generic pod (code streamed in, function label), then reuses it warm (mocked Kubernetes API)', async () => {
  const fn = spec('hello');
  const first = await executor.run(request(fn, { kind: 'object', value: { name: 'pod' } }));
  expect([first.status, first.output, first.warm]).toEqual(['success', 'Hello, pod', false]);
  expect(first.log).toContain('hi from the pod');
  const patch = kube.requests.find((r) => r.method === 'PATCH');
  expect(patch?.body).toEqual([{ op: 'add', path: '/metadata/labels/cairn.io~1function', value: 'hello' }]);
  const second = await executor.run(request(fn));
  expect([second.status, second.output, second.warm]).toEqual(['success', 'Hello, World', true]);
  expect(executor.workers('hello')).toHaveLength(1);
  const node = await executor.run(request(spec('node', { runtime: 'nodejs' }), { kind: 'object', value: { name: 'k8s' } }));
  expect([node.status, node.output]).toEqual(['success', 'node says k8s']);
});

test('a function with its own limits gets a pod made with them (mocked Kubernetes API)', async () => {
  const r = await executor.run(request(spec('big', { cpuMillis: 300, memoryBytes: 64 * MiB })));
  expect([r.status, r.output]).toEqual(['success', 42]);
  const pod = kube.created().find((p) => p.metadata.name === executor.workers('big')[0].name);
  expect(pod.spec.containers[0].resources.limits).toEqual({ cpu: '300m', memory: String(64 * MiB + 128 * MiB) });
});

test('a timeout deletes the pod (mocked Kubernetes API)', async () => {
  const r = await executor.run(request(spec('slow', { timeoutSeconds: 1 })));
  expect([r.status, r.output]).toEqual(['failed', 'Function execution timeout.']);
  const name = (kube.requests.find((q) => q.method === 'PATCH' && q.body[0].value === 'slow')!.path.split('/').pop()) as string;
  for (let i = 0; i < 50 && kube.pods.has(name); i++) await new Promise((res) => setTimeout(res, 50));
  expect(kube.requests.some((q) => q.method === 'DELETE' && q.path === `/api/v1/namespaces/cairn-runtimes/pods/${name}?gracePeriodSeconds=0`)).toBe(true);
  expect(kube.pods.has(name)).toBe(false);
});

test('image functions run as one pod each, with the deadline, labels and limits of the function (mocked Kubernetes API)', async () => {
  const fn = spec('img', { kind: 'image', runtime: undefined, image: 'registry.test/echo:1', entry: undefined, timeoutSeconds: 3, cpuMillis: 200, memoryBytes: 64 * MiB });
  const r = await executor.run(request(fn, { kind: 'raw', value: 'a b' }));
  expect([r.status, r.log]).toEqual(['success', 'image says a b\n']);
  const pod = kube.created().find((p) => p.metadata.labels['cairn.io/pod-kind'] === 'image');
  expect(pod.metadata.labels).toMatchObject({ 'cairn.io/function': 'img', 'cairn.io/version': '1.2.3' });
  expect(pod.spec.activeDeadlineSeconds).toBe(3);
  expect(pod.spec.containers[0]).toMatchObject({ image: 'registry.test/echo:1', args: ['a', 'b'], resources: { limits: { cpu: '200m', memory: String(64 * MiB) } } });
  expect(podsOf('image')).toEqual([]);
  const slow = await executor.run(request({ ...fn, functionId: 'img2', image: 'registry.test/sleep:1', timeoutSeconds: 1 }));
  expect([slow.status, slow.output]).toEqual(['failed', 'Function execution timeout.']);
  expect(podsOf('image')).toEqual([]);
});
