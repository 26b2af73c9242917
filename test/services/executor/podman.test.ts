// Image functions in real podman containers, from an image built here without a registry: a
// rootfs holding only a static busybox, imported with `podman import`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../../services/core/config';
import { RUN_MESSAGES } from '../../../services/core/execution';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { fnSpec, request, testConfig } from './fixtures';

const IMAGE = 'localhost/cairn-test-busybox:1';
const BUSYBOX = '/bin/busybox';

/** Why podman tests cannot run here, or undefined. */
function unavailable(): string | undefined {
  if (!fs.existsSync('/usr/bin/podman')) return 'podman is not installed (apt-get install podman runc)';
  if (!fs.existsSync(BUSYBOX)) return 'busybox-static is not installed (apt-get install busybox-static)';
  return undefined;
}

function buildImage(): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bb-'));
  fs.mkdirSync(path.join(root, 'bin'));
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'echo', 'sleep']) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  const tar = `${root}.tar`;
  execFileSync('tar', ['-C', root, '-cf', tar, '.']);
  execFileSync('podman', [
    'import',
    '--change', 'ENTRYPOINT ["/bin/sh", "-c", "echo Hello $1; sleep $2; exit $3", "sh"]',
    '--change', 'CMD ["World", "0", "0"]',
    tar, IMAGE,
  ], { stdio: 'ignore' });
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(tar, { force: true });
}

const reason = unavailable();
const describeIfPodman = reason ? describe.skip : describe;
if (reason) console.warn(`Skipping image function tests: ${reason}`);

describeIfPodman('image functions (podman)', () => {
  let config: Config;
  let executor: SandboxExecutor;

  beforeAll(() => {
    buildImage();
    config = testConfig({ CAIRN_POOL_SIZE: '0' });
    executor = new SandboxExecutor(config, { fetchCode: async () => Buffer.alloc(0), apiSocketPath: '', apiPort: 8080 });
  }, 30_000);

  afterAll(async () => {
    await executor?.stop();
    execFileSync('podman', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
    fs.rmSync(config.dataDir, { recursive: true, force: true });
  });

  const image = (over = {}) => fnSpec('python3', 'img', { kind: 'image', runtime: undefined, entry: undefined, image: IMAGE, ...over });

  it('passes raw input as whitespace-split args; success has a duration and no output', async () => {
    const req = request(image(), { kind: 'raw', value: 'Qinling  0 0' });
    const r = await executor.run(req);
    expect(r.status).toBe('success');
    expect('output' in r).toBe(false);
    expect(r.log).toBe('Hello Qinling\n');
    expect(r.duration).toBeGreaterThan(0);
  }, 20_000);

  it("runs the image's own CMD without input", async () => {
    expect((await executor.run(request(image()))).log).toContain('Hello World\n');
  }, 20_000);

  it('reports a non-zero exit as failed with the exit code', async () => {
    const r = await executor.run(request(image(), { kind: 'raw', value: 'Q 0 3' }));
    expect(r).toMatchObject({ status: 'failed', output: 'Container exited with code 3.' });
  }, 20_000);

  it('kills the container at the timeout', async () => {
    const r = await executor.run(request(image({ timeoutSeconds: 1 }), { kind: 'raw', value: 'Q 30 0' }));
    expect(r).toMatchObject({ status: 'failed', output: RUN_MESSAGES.timeout });
    expect(r.log).toContain('Hello Q');
    expect(r.duration).toBeLessThan(10);
  }, 20_000);

  it('answers status error naming the fix when podman is missing', async () => {
    const noPodman = new SandboxExecutor(testConfig({ CAIRN_PODMAN: '/nonexistent/podman' }), { fetchCode: async () => Buffer.alloc(0), apiSocketPath: '', apiPort: 8080 });
    const r = await noPodman.run(request(image()));
    expect(r).toMatchObject({ status: 'error', output: expect.stringContaining('apt-get install podman') });
    expect(noPodman.imageSupportProblem()).toContain('apt-get install podman');
  });
});
