// Rules every container of every workload meets: bounded resources, an unprivileged user, a
// read-only root filesystem, no privilege escalation, and an image pinned to a version.
import type { ManifestObject } from '../k8s/schemas';
import { describeObject, type Rule, type Violation } from './rule';
import { containersOf, type ContainerSpec, type PodSpec } from './workloads';

function containerRule(id: string, description: string, problem: (c: ContainerSpec, pod: PodSpec) => string | undefined): Rule {
  return {
    id,
    description,
    check: (objects: readonly ManifestObject[]): Violation[] =>
      objects.flatMap((obj) =>
        containersOf(obj).flatMap(({ pod, container }) => {
          const message = problem(container, pod);
          return message ? [{ rule: id, object: describeObject(obj, container.name), message }] : [];
        }),
      ),
  };
}

export const containersHaveLimits = containerRule('container-limits', 'Every container requests and is limited in CPU and memory.', (c) => {
  const missing = [
    ...['cpu', 'memory'].filter((r) => c.resources?.requests?.[r] === undefined).map((r) => `requests.${r}`),
    ...['cpu', 'memory'].filter((r) => c.resources?.limits?.[r] === undefined).map((r) => `limits.${r}`),
  ];
  return missing.length ? `missing resources ${missing.join(', ')}` : undefined;
});

export const containersRunAsNonRoot = containerRule('container-non-root', 'Every container runs as a non-root user.', (c, pod) => {
  // The container's own setting wins over the pod's, as in Kubernetes.
  const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
  const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  if (nonRoot !== true) return 'runAsNonRoot is not true (set it in the container or pod securityContext)';
  if (uid === 0) return 'runAsUser is 0 (root)';
  return undefined;
});

export const containersReadOnlyRoot = containerRule('container-read-only-root', 'Every container has a read-only root filesystem.', (c) =>
  c.securityContext?.readOnlyRootFilesystem === true ? undefined : 'securityContext.readOnlyRootFilesystem is not true (mount an emptyDir where it writes)',
);

export const containersNoPrivilegeEscalation = containerRule('container-no-privilege-escalation', 'No container may gain privileges.', (c) => {
  if (c.securityContext?.privileged === true) return 'securityContext.privileged is true';
  return c.securityContext?.allowPrivilegeEscalation === false ? undefined : 'securityContext.allowPrivilegeEscalation is not false';
});

export const containersPinnedImage = containerRule('container-pinned-image', 'Every image is pinned to a version tag or a digest, never `latest` or no tag.', (c) => {
  const image = c.image ?? '';
  if (!image) return 'no image';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  // The tag is what follows the last ':' after the last '/' (a registry port is before it).
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  if (!tag) return `image ${image} has no tag`;
  if (tag === 'latest') return `image ${image} uses the moving tag "latest"`;
  return undefined;
});

export const CONTAINER_RULES: readonly Rule[] = [containersHaveLimits, containersRunAsNonRoot, containersReadOnlyRoot, containersNoPrivilegeEscalation, containersPinnedImage];
