// The CI workflow (.github/workflows/deploy.yml) read as GitHub Actions reads it: triggers, job
// order, preview on pull requests only, `pulumi up` on release tags only with the cloud before
// the tenants, one deploy at a time, and the stacks it names are the Pulumi.<stack>.yaml files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readYamlFile } from '../../infra/pulumi/stack-file';

const REPO = path.join(__dirname, '..', '..');

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job {
  if?: string;
  needs?: string | string[];
  env?: Record<string, string>;
  strategy?: { 'fail-fast'?: boolean; 'max-parallel'?: number; matrix?: { stack?: string[] } };
  steps: Step[];
}
interface Workflow { on: Record<string, any>; concurrency: { group: string; 'cancel-in-progress': string | boolean }; jobs: Record<string, Job> }

const workflow = readYamlFile(path.join(REPO, '.github', 'workflows', 'deploy.yml')) as Workflow;
const { jobs } = workflow;
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').filter(Boolean);
const needs = (job: Job) => [job.needs ?? []].flat();

/** The stacks of the repository by `cairn:kind`, from Pulumi.<stack>.yaml. */
function stacksByKind(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const file of fs.readdirSync(REPO).filter((f) => /^Pulumi\.[^.]+(\.[^.]+)*\.yaml$/.test(f) && f !== 'Pulumi.yaml').sort()) {
    const stack = file.slice('Pulumi.'.length, -'.yaml'.length);
    const kind = String((readYamlFile(path.join(REPO, file)) as { config?: Record<string, unknown> }).config?.['cairn:kind']);
    (out[kind] ??= []).push(stack);
  }
  return out;
}

describe('the deploy workflow', () => {
  test('runs on pull requests and on release tags v*', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.on.push).toEqual({ tags: ['v*'] });
  });

  test('the test job runs the tests, the PostgreSQL suite, the build and the synth, and hands dist/ on', () => {
    const steps = runs(jobs.test);
    const order = ['npm ci', 'npm test', 'npm run test:pg', 'npm run build', 'npm run synth'].map((cmd) => steps.findIndex((r) => r.startsWith(cmd)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(jobs.test.steps.find((s) => s.run?.startsWith('npm run test:pg'))?.env?.CAIRN_TEST_PG_URL).toMatch(/^postgres:\/\/.*127\.0\.0\.1:5432/);
    expect(jobs.test.steps.some((s) => s.uses?.startsWith('actions/upload-artifact') && s.with?.path === 'dist/')).toBe(true);
    expect(jobs.test.if).toBeUndefined();
  });

  test('pull requests preview every stack (with the policy pack) and never apply', () => {
    expect(jobs.preview.if).toBe("github.event_name == 'pull_request'");
    expect(needs(jobs.preview)).toEqual(['test']);
    expect(runs(jobs.preview)).toEqual(['npm ci --no-audit --no-fund', 'pulumi preview --stack "${{ matrix.stack }}" --policy-pack infra/policy/pack --diff --non-interactive']);
    for (const job of Object.values(jobs).filter((j) => runs(j).some((r) => /pulumi up\b/.test(r)))) expect(job.if).toMatch(/startsWith\(github\.ref, 'refs\/tags\/v'\)/);
  });

  test('release tags apply the cloud stack, then each tenant stack one at a time, stopping at the first failure', () => {
    for (const name of ['deploy-cloud', 'deploy-tenants']) {
      const job = jobs[name];
      expect(job.if).toBe("github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')");
      expect(job.strategy).toMatchObject({ 'max-parallel': 1, 'fail-fast': true });
      expect(runs(job).filter((r) => r.startsWith('pulumi '))).toEqual([expect.stringMatching(/^pulumi up --stack "\$\{\{ matrix\.stack \}\}" .*--yes/)]);
      expect(job.steps.some((s) => s.uses?.startsWith('actions/download-artifact'))).toBe(true);
    }
    expect(needs(jobs['deploy-cloud'])).toEqual(['test']);
    expect(needs(jobs['deploy-tenants'])).toEqual(['deploy-cloud']);
  });

  test('two deploys never overlap; a newer pull request push replaces its preview', () => {
    expect(workflow.concurrency.group).toContain("github.event_name == 'push' && 'cairn-deploy'");
    expect(workflow.concurrency['cancel-in-progress']).toBe("${{ github.event_name == 'pull_request' }}");
  });

  test('the stacks it names are the Pulumi.<stack>.yaml files, by kind', () => {
    const kinds = stacksByKind();
    expect(Object.keys(kinds).sort()).toEqual(['cloud', 'existing-cluster', 'tenant']);
    expect([...(jobs.preview.strategy?.matrix?.stack ?? [])].sort()).toEqual(Object.values(kinds).flat().sort());
    expect(jobs['deploy-cloud'].strategy?.matrix?.stack).toEqual(kinds.cloud);
    expect(jobs['deploy-tenants'].strategy?.matrix?.stack).toEqual(kinds.tenant);
  });

  test('credentials come from the repository secrets, only in the jobs that run Pulumi', () => {
    for (const name of ['preview', 'deploy-cloud', 'deploy-tenants']) {
      const env = jobs[name].env ?? {};
      expect(env.PULUMI_ACCESS_TOKEN).toBe('${{ secrets.PULUMI_ACCESS_TOKEN }}');
      expect(env.OS_APPLICATION_CREDENTIAL_SECRET).toBe('${{ secrets.OS_APPLICATION_CREDENTIAL_SECRET }}');
    }
    expect(JSON.stringify(jobs.test)).not.toContain('secrets.');
  });
});
