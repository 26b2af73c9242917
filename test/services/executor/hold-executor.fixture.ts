// Child process for the die-with-the-platform test: starts an executor, warms one sandbox per
// runtime, prints the sandbox processes' pids, then waits to be killed.
import * as fs from 'node:fs';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { fnSpec, makeZip, request, testConfig } from './fixtures';

async function main(): Promise<void> {
  const zip = await makeZip({ 'main.js': 'exports.main = () => "up";' });
  const executor = new SandboxExecutor(testConfig(), { fetchCode: async () => zip, apiSocketPath: '', apiPort: 8080 });
  await executor.start();
  await executor.run(request(fnSpec('nodejs', 'up')));
  const root = '/sys/fs/cgroup/pids';
  const pids: number[] = [];
  for (const tree of fs.readdirSync(root).filter((d) => d.startsWith(`cairn-${process.pid}-`))) {
    for (const sb of fs.readdirSync(`${root}/${tree}`).filter((d) => d.startsWith('sb-'))) {
      pids.push(...fs.readFileSync(`${root}/${tree}/${sb}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number));
    }
  }
  process.stdout.write(`${JSON.stringify(pids)}\n`);
  setInterval(() => undefined, 1000);
}

void main();
