// The contract between the api (which owns executions' records) and the executor (the only
// component that runs tenant code). In local mode the api calls the executor in-process; in the
// distributed mode the same types travel over the executor's internal HTTP endpoint.

export type RuntimeKind = 'python3' | 'nodejs';

/** Everything the executor needs to run one version of one function. */
export interface FunctionSpec {
  functionId: string;
  /** 0 = the current (mutable) code. */
  version: number;
  projectId: string;
  /** `package` covers uploaded zips and zips kept in the object store (swift source). */
  kind: 'package' | 'image';
  runtime?: RuntimeKind;
  /** Container image reference, for kind `image`. */
  image?: string;
  /** `module.function` (python3) or `module.handler` (nodejs); absent for images. */
  entry?: string;
  /** Identifies the exact code: a warm sandbox is reused only for the same key. */
  codeKey: string;
  timeoutSeconds: number;
  cpuMillis: number;
  memoryBytes: number;
}

/** Execution input after the function API's parsing (spec §4.6). */
export type ExecutionInput =
  | { kind: 'none' }
  /** A JSON object: its keys become keyword arguments (python) / the input object (node). */
  | { kind: 'object'; value: Record<string, unknown> }
  /** Anything else: passed as one positional string argument. */
  | { kind: 'raw'; value: string };

export interface RunRequest {
  executionId: string;
  fn: FunctionSpec;
  input: ExecutionInput;
  /** The caller's identity, handed to function code as its `context` (Qinling's os_session). */
  caller: { token: string; projectId: string; userId: string; region: string };
}

export type RunStatus = 'success' | 'failed' | 'error';

export interface RunResult {
  status: RunStatus;
  /** The function's return value, or a platform message such as "Function execution timeout.". */
  output?: unknown;
  /** Seconds, 3 decimals. */
  duration: number;
  /** The whole execution log: `Start execution: <id>`, everything printed, `Finished execution: <id>`. */
  log: string;
  /** True when a warm sandbox served the call (reported in metrics and benchmarks). */
  warm: boolean;
}

/** Messages Qinling put in `output`; clients and scripts match on them. */
export const RUN_MESSAGES = {
  timeout: 'Function execution timeout.',
  resources: 'Function execution failed because of too much resource consumption',
  failed: 'Function execution failed.',
  internal: 'Internal service error.',
  nodeInvocation: 'Function invocation error',
} as const;

export interface Executor {
  run(req: RunRequest): Promise<RunResult>;
}

/**
 * The `context` a function receives (Qinling's: token, project, execution and the endpoints the
 * function's clients use), with endpoints under `apiBase`, the URL the sandbox reaches the api at.
 */
export function functionContext(req: RunRequest, apiBase: string): Record<string, unknown> {
  return {
    token: req.caller.token,
    project_id: req.caller.projectId,
    user_id: req.caller.userId,
    region: req.caller.region,
    execution_id: req.executionId,
    function_id: req.fn.functionId,
    function_version: req.fn.version,
    endpoints: {
      'object-store': `${apiBase}/v1/AUTH_${req.caller.projectId}`,
      'function-engine': `${apiBase}/function`,
      identity: `${apiBase}/identity/v3`,
    },
  };
}
