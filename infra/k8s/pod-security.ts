// Secure defaults every Cairn pod and container gets, meeting the Pod Security `restricted`
// profile: non-root, read-only root filesystem, no privilege escalation, no capabilities,
// RuntimeDefault seccomp, requests and limits. Writable paths are explicit emptyDir volumes.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { resourceRequirements, type ContainerResources } from './units';

/** The unprivileged user the images run as (set in the image too; the pod spec enforces it). */
export const RUNTIME_UID = 10001;

/** Pod Security Standards level and version enforced on every Cairn namespace. */
export const POD_SECURITY_LEVEL = 'restricted';
/** Pinned so a cluster upgrade does not silently change what is enforced. */
export const POD_SECURITY_VERSION = 'v1.30';

/** Labels that make the Pod Security admission enforce (and audit and warn on) `restricted`. */
export function podSecurityLabels(): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const mode of ['enforce', 'audit', 'warn']) {
    labels[`pod-security.kubernetes.io/${mode}`] = POD_SECURITY_LEVEL;
    labels[`pod-security.kubernetes.io/${mode}-version`] = POD_SECURITY_VERSION;
  }
  return labels;
}

export const podSecurityContext: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUNTIME_UID,
  runAsGroup: RUNTIME_UID,
  fsGroup: RUNTIME_UID,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A writable scratch directory on a read-only root filesystem, bounded in size. */
export interface ScratchDir {
  name: string;
  mountPath: string;
  /** emptyDir size limit, a Kubernetes quantity. */
  sizeLimit: string;
}

export interface SecureContainerProps {
  name: string;
  image: string;
  resources: ContainerResources;
  command?: string[];
  args?: string[];
  scratch?: ScratchDir[];
  extra?: Omit<IContainer, 'name' | 'image' | 'resources' | 'securityContext' | 'volumeMounts' | 'command' | 'args'>;
}

/** A container with the secure defaults applied; they cannot be overridden through props. */
export function secureContainer(props: SecureContainerProps): IContainer {
  const volumeMounts: IVolumeMount[] = (props.scratch ?? []).map((s) => ({ name: s.name, mountPath: s.mountPath }));
  return {
    name: props.name,
    image: props.image,
    imagePullPolicy: 'IfNotPresent',
    ...(props.command ? { command: props.command } : {}),
    ...(props.args ? { args: props.args } : {}),
    ...props.extra,
    resources: resourceRequirements(props.resources),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUNTIME_UID,
      runAsGroup: RUNTIME_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(volumeMounts.length ? { volumeMounts } : {}),
  };
}

/** The emptyDir volumes backing a container's scratch directories. */
export function scratchVolumes(scratch: ScratchDir[]): IVolume[] {
  return scratch.map((s) => ({ name: s.name, emptyDir: { sizeLimit: s.sizeLimit } }));
}

/** An image reference pinned to the platform version: `<registry>/<name>:<version>`. */
export function pinnedImage(registry: string, name: string, version: string): string {
  return `${registry.replace(/\/+$/, '')}/${name}:${version}`;
}
