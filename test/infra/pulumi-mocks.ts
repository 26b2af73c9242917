// Mocked Pulumi providers for the in-process tests (the Pulumi CLI and provider plugins cannot be
// downloaded here): every resource is recorded with its inputs and its state is its inputs.
// Stack references answer with the outputs given; the outputs a real provider computes and the
// programs read (a Magnum kubeconfig, a generated password, …) are answered by COMPUTED.
import * as pulumi from '@pulumi/pulumi';

export interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

/** Outputs the real providers compute, by resource type. */
const COMPUTED: Record<string, (name: string) => Record<string, unknown>> = {
  'openstack:containerinfra/cluster:Cluster': (name) => ({ kubeconfig: { rawConfig: `apiVersion: v1\nkind: Config\n# magnum ${name}\n`, host: 'https://10.42.0.5:6443' } }),
  'openstack:database/instance:Instance': () => ({ addresses: ['10.42.0.10'] }),
  'openstack:identity/applicationCredential:ApplicationCredential': (name) => ({ secret: `secret-of-${name}`, projectId: 'tenant-project' }),
  'random:index/randomPassword:RandomPassword': (name) => ({ result: `generated-${name}` }),
};

/** Data sources the programs call (role look-ups). */
const CALLS: Record<string, (inputs: Record<string, any>) => Record<string, unknown>> = {
  'openstack:identity/getRole:getRole': (inputs) => ({ ...inputs, id: `role-${inputs.name}` }),
};

export async function mockProviders(stack: string, stackOutputs: Record<string, Record<string, unknown>> = {}): Promise<Created[]> {
  const created: Created[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        created.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === 'pulumi:pulumi:StackReference') {
          const outputs = stackOutputs[args.inputs.name as string] ?? {};
          return { id: args.inputs.name as string, state: { ...args.inputs, outputs, secretOutputNames: Object.keys(outputs) } };
        }
        return { id: `${args.name}-id`, state: { ...args.inputs, ...COMPUTED[args.type]?.(args.name) } };
      },
      call: (args) => CALLS[args.token]?.(args.inputs) ?? args.inputs,
    },
    'cairn',
    stack,
    false,
  );
  return created;
}

/** Resolves an Output in a test (mocked providers resolve at once). */
export function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}
