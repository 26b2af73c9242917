// The few Kubernetes API calls the backend makes, through @kubernetes/client-node. The client is
// an ES module, loaded on first use (loadClient below), so nothing loads it unless
// CAIRN_SANDBOX=kubernetes.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

export type Pod = V1Pod;

export class KubeClient {
  private api: Promise<CoreV1Api> | undefined;

  constructor(
    private readonly namespace: string,
    /** An explicit API server URL (e.g. `kubectl proxy`); unset: in-cluster or ~/.kube/config. */
    private readonly apiUrl: string | undefined,
  ) {}

  private core(): Promise<CoreV1Api> {
    this.api ??= loadClient().then((k8s) => {
      const kc = new k8s.KubeConfig();
      if (this.apiUrl) {
        kc.loadFromOptions({
          // Plain http only reaches a local proxy (kubectl proxy); https is always verified.
          clusters: [{ name: 'cairn', server: this.apiUrl, skipTLSVerify: this.apiUrl.startsWith('http:') }],
          users: [{ name: 'cairn' }],
          contexts: [{ name: 'cairn', cluster: 'cairn', user: 'cairn' }],
          currentContext: 'cairn',
        });
      } else kc.loadFromDefault();
      return kc.makeApiClient(k8s.CoreV1Api);
    });
    return this.api;
  }

  async create(pod: Pod): Promise<Pod> {
    return (await this.core()).createNamespacedPod({ namespace: this.namespace, body: pod });
  }

  /** The pod, or undefined once it is gone. */
  async read(name: string): Promise<Pod | undefined> {
    try {
      return await (await this.core()).readNamespacedPod({ namespace: this.namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(labelSelector: string): Promise<Pod[]> {
    return (await (await this.core()).listNamespacedPod({ namespace: this.namespace, labelSelector })).items;
  }

  /** Deletes at once (no grace: tenant code gets no say); a pod already gone is fine. */
  async delete(name: string): Promise<void> {
    try {
      await (await this.core()).deleteNamespacedPod({ namespace: this.namespace, name, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async patch(name: string, body: object[]): Promise<void> {
    await (await this.core()).patchNamespacedPod({ namespace: this.namespace, name, body });
  }

  async log(name: string, limitBytes: number): Promise<string> {
    try {
      return await (await this.core()).readNamespacedPodLog({ namespace: this.namespace, name, limitBytes });
    } catch (err) {
      if (isNotFound(err)) return '';
      throw err;
    }
  }
}

/**
 * The client is an ES module. `require` is what esbuild bundles into dist/executor.js and what
 * Node (≥ 20.19, which loads ES modules through require) runs from source. Jest's module registry
 * refuses ES modules through require; there the native dynamic import, which TypeScript's
 * CommonJS output would otherwise rewrite into a require, loads it.
 */
async function loadClient(): Promise<typeof import('@kubernetes/client-node')> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  } catch (err) {
    const nativeImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<typeof import('@kubernetes/client-node')>;
    return nativeImport('@kubernetes/client-node').catch(() => {
      throw err;
    });
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

/** Adds (or replaces) one label with a JSON patch, the API server's default patch type for this client. */
export async function labelPod(client: KubeClient, name: string, key: string, value: string): Promise<void> {
  await client.patch(name, [{ op: 'add', path: `/metadata/labels/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }]);
}
