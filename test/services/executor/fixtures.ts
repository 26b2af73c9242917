// Shared fixtures for the executor tests: packages made with yazl, a config in a temp data dir,
// and run requests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { loadConfig, type Config } from '../../../services/core/config';
import type { ExecutionInput, FunctionSpec, RunRequest, RuntimeKind } from '../../../services/core/execution';

export function makeZip(files: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const [name, body] of Object.entries(files)) zip.addBuffer(Buffer.from(body), name);
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (d: Buffer) => chunks.push(d));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-exec-'));
  return loadConfig({
    CAIRN_DATA_DIR: dataDir,
    CAIRN_POOL_SIZE: '1',
    CAIRN_RUNTIME_OVERHEAD_BYTES: String(64 * 1024 * 1024),
    ...env,
  });
}

let seq = 0;

/** A package function whose codeKey is its name: `codes[name]` must hold its zip. */
export function fnSpec(runtime: RuntimeKind, codeKey: string, over: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    functionId: `fn-${codeKey}`,
    version: 0,
    projectId: 'proj',
    kind: 'package',
    runtime,
    entry: 'main.main',
    codeKey,
    timeoutSeconds: 5,
    cpuMillis: 300,
    memoryBytes: 32 * 1024 * 1024,
    ...over,
  };
}

export function request(fn: FunctionSpec, input: ExecutionInput = { kind: 'none' }): RunRequest {
  seq += 1;
  return {
    executionId: `exec-${seq}`,
    fn,
    input,
    caller: { token: 'tok-123', projectId: 'proj', userId: 'user-1', region: 'RegionOne' },
  };
}
