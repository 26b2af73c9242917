// Mocked Pulumi providers for the in-process tests (the Pulumi CLI and provider plugins cannot be
// downloaded here): every resource is recorded with its inputs and its state is its inputs.
// Stack references answer with the outputs given.
import * as pulumi from '@pulumi/pulumi';

export interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

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
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
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
