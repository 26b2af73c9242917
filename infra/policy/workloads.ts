// Where pod specs sit in each workload kind, so container rules see every container of every
// workload, init containers included.
import type { ManifestObject } from '../k8s/schemas';

/** The parts of a pod spec the rules read. */
export interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
}

export interface ContainerSpec {
  name: string;
  image?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; privileged?: boolean };
}

type Obj = ManifestObject & { spec?: any };

/** The pod spec of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob; else undefined. */
export function podSpecOf(obj: ManifestObject): PodSpec | undefined {
  const o = obj as Obj;
  switch (o.kind) {
    case 'Pod':
      return o.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return o.spec?.template?.spec;
    case 'CronJob':
      return o.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

/** Every container of a workload with its pod spec; empty for objects that are not workloads. */
export function containersOf(obj: ManifestObject): { pod: PodSpec; container: ContainerSpec }[] {
  const pod = podSpecOf(obj);
  if (!pod) return [];
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((container) => ({ pod, container }));
}
