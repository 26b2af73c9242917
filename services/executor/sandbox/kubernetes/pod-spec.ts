// The pods the executor creates: generic runtime pods (one runtime server behind the pod agent,
// specialised later for one function) and image-function pods (one per execution). Every pod is
// labelled so it can be found again (by this executor at start-up, by an operator with kubectl)
// and runs with the restricted Pod Security profile: non-root, read-only root file system, no
// privilege escalation, every capability dropped, the runtime's default seccomp profile.
import type { V1Container, V1Pod, V1SecurityContext } from '@kubernetes/client-node';
import type { FunctionSpec, RuntimeKind } from '../../../core/execution';
import { NODE_AGENT, PYTHON_AGENT } from './pod-agent';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'cairn.io/version',
  runtime: 'cairn.io/runtime',
  function: 'cairn.io/function',
  kind: 'cairn.io/pod-kind',
} as const;
/** Value of LABELS.managedBy on every pod the executor creates: the orphan sweep's selector. */
export const MANAGED_BY = 'cairn-executor';

/** Inside the pod: the function's files (an emptyDir the agent fills). */
export const POD_FUNCTION_DIR = '/function';
/**
 * The runtime's forwarder port inside the pod: 0, any free port. Pods have no api socket to
 * forward to; function code reaches the api at CAIRN_API_URL through its context's endpoints.
 */
const FORWARDER_PORT = 0;
/** Unprivileged ids (Debian's nobody/nogroup), as in the bwrap sandboxes. */
const POD_UID = 65534;

export const RESTRICTED: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: POD_UID,
  runAsGroup: POD_UID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export interface PodLimits {
  cpuMillis: number;
  memoryBytes: number;
}

export interface RuntimePodOptions {
  name: string;
  runtime: RuntimeKind;
  image: string;
  version: string;
  /** functions-runtime/ inside the image. */
  runtimeDir: string;
  controlPort: number;
  secret: string;
  limits: PodLimits;
  tmpBytes: number;
  functionDirBytes: number;
}

/** A generic runtime pod: the agent, then (once the executor connects) the runtime server. */
export function runtimePod(o: RuntimePodOptions): V1Pod {
  const server = [
    '--control-fd', '3',
    '--function-dir', POD_FUNCTION_DIR,
    '--api-port', String(FORWARDER_PORT),
    '--api-socket', '/run/cairn/api.sock',
  ];
  const command =
    o.runtime === 'python3'
      ? ['/usr/bin/python3', '-I', '-c', PYTHON_AGENT, String(o.controlPort), POD_FUNCTION_DIR, '/usr/bin/python3', '-I', '-u', '-B', `${o.runtimeDir}/python3/server.py`, ...server]
      : ['node', '-e', NODE_AGENT, String(o.controlPort), POD_FUNCTION_DIR, 'node', `${o.runtimeDir}/nodejs/server.js`, ...server];
  const container: V1Container = {
    name: 'runtime',
    image: o.image,
    command,
    env: [
      { name: 'CAIRN_AGENT_SECRET', value: o.secret },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'HOME', value: '/tmp' },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'LANG', value: 'C.UTF-8' },
      // A container has a PID namespace of its own: the runtime may kill strays between calls.
      { name: 'CAIRN_OWN_PID_NAMESPACE', value: '1' },
    ],
    ports: [{ name: 'control', containerPort: o.controlPort, protocol: 'TCP' }],
    resources: resources(o.limits),
    securityContext: RESTRICTED,
    volumeMounts: [
      { name: 'function', mountPath: POD_FUNCTION_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    workingDir: '/tmp',
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, labels: { ...baseLabels(o.version), [LABELS.runtime]: o.runtime, [LABELS.kind]: 'runtime' } },
    spec: {
      ...podBasics(),
      containers: [container],
      volumes: [
        { name: 'function', emptyDir: { sizeLimit: String(o.functionDirBytes) } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: String(o.tmpBytes) } },
      ],
    },
  };
}

export interface ImagePodOptions {
  name: string;
  fn: FunctionSpec;
  version: string;
  args: string[];
  tmpBytes: number;
}

/** One execution of an image function: the image's own entrypoint with the input as args, ended by the deadline. */
export function imagePod(o: ImagePodOptions): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, labels: { ...baseLabels(o.version), [LABELS.function]: o.fn.functionId, [LABELS.kind]: 'image' } },
    spec: {
      ...podBasics(),
      // The kubelet ends the pod even if this executor dies mid-run.
      activeDeadlineSeconds: o.fn.timeoutSeconds,
      containers: [
        {
          name: 'function',
          image: o.fn.image,
          args: o.args,
          resources: resources(o.fn),
          securityContext: RESTRICTED,
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: String(o.tmpBytes) } }],
    },
  };
}

function baseLabels(version: string): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.version]: version };
}

function podBasics(): NonNullable<V1Pod['spec']> {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 0,
    securityContext: { runAsNonRoot: true, runAsUser: POD_UID, runAsGroup: POD_UID, fsGroup: POD_UID, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [],
  };
}

/** Requests equal limits: a function gets what it asked for, no more, no less (Guaranteed QoS). */
function resources(l: PodLimits): V1Container['resources'] {
  const r = { cpu: `${l.cpuMillis}m`, memory: String(l.memoryBytes) };
  return { requests: r, limits: r };
}
