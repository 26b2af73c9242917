// The container images, built and run here without a registry: the Debian base from debootstrap
// (cached under ~/.cache/cairn/images, keyed by infra/images/base-packages.txt), then the api and
// runtime images with podman from a fresh bundle. The api image serves its health endpoint and
// version document as the chart runs it (non-root, read-only root file system, /tmp and the data
// directory as the only writable mounts); the runtime images answer the runtime contract's ready
// check on fd 3 and run a function.
//
// Slow (minutes cold, seconds warm) and needs root, podman and the Debian mirror:
// `npm run test:images`, run by .ci/run, not by `npm test`.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBundle, type BundleManifest } from '../../infra/bundle/build';
import { API_PORT, DATA_DIR } from '../../infra/k8s/platform-chart';
import { RUNTIME_UID } from '../../infra/k8s/pod-security';
import { buildImages, IMAGE_RUNTIME_DIR, type BuiltImages } from '../../infra/images/build-images';
import { runtimePod } from '../../services/executor/sandbox/kubernetes/pod-spec';
import { run } from '../../infra/images/debian-rootfs';
import { collectOutput, freePort, waitForUrl } from '../helpers/process';

jest.setTimeout(20 * 60_000);

const REGISTRY = 'localhost/cairn-test';
/** What a pod gets: no root, nothing writable but its volumes, no privileges (see infra/k8s/pod-security.ts). */
const POD_LIKE = [
  '--read-only', '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
  '--tmpfs', '/tmp:rw,size=256m,mode=1777',
  // Without CAP_SYS_RESOURCE podman's default ulimits are refused by runc on these hosts.
  '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096',
];

let tmp: string;
let manifest: BundleManifest;
let built: BuiltImages;
const containers: string[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-images-'));
  manifest = await buildBundle({ outDir: path.join(tmp, 'dist') });
  const started = Date.now();
  built = await buildImages({
    distDir: path.join(tmp, 'dist'),
    registry: REGISTRY,
    // The executor image is built and inspected but not run: its sandboxes need bwrap and cgroups
    // or a Kubernetes API, neither of which a container here has.
    images: ['cairn-api', 'cairn-executor', 'cairn-runtime-python3', 'cairn-runtime-nodejs'],
    log: (line) => process.stderr.write(`[images ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`),
  });
  process.stderr.write(`[images] built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

afterAll(async () => {
  for (const name of containers) await run('podman', ['rm', '-f', name], { allowFail: true });
  // The built images go (a rerun builds them afresh; left behind, each run would leave a copy);
  // the Debian base stays in podman's store, which is what makes a rerun fast.
  if (built) await run('podman', ['rmi', '--force', ...Object.values(built.images), built.base], { allowFail: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function inspect(image: string): Promise<{ Config: { User?: string; Labels?: Record<string, string>; Cmd?: string[]; ExposedPorts?: Record<string, unknown> } }> {
  const { output } = await run('podman', ['image', 'inspect', image]);
  return (JSON.parse(output) as any[])[0];
}

describe('container images (podman, Debian base from debootstrap)', () => {
  test('every image is tagged as the charts reference it, runs as the pod user and carries the version', async () => {
    for (const [name, ref] of Object.entries(built.images)) {
      expect(ref).toBe(`${REGISTRY}/${name}:${manifest.version}`);
      const { Config } = await inspect(ref);
      expect({ name, user: Config.User, version: Config.Labels?.['org.opencontainers.image.version'], cairn: Config.Labels?.['cairn.io/version'], bundle: Config.Labels?.['cairn.io/bundle-sha256'] }).toEqual({
        name,
        user: `${RUNTIME_UID}:${RUNTIME_UID}`,
        version: manifest.version,
        cairn: manifest.version,
        bundle: manifest.bundleSha256,
      });
    }
    // The same commands and port as the chart's containers (infra/k8s/platform-chart.ts).
    for (const [name, bundle] of [['cairn-api', 'api.js'], ['cairn-executor', 'executor.js']] as const) {
      const { Config } = await inspect(built.images[name]!);
      expect({ name, cmd: Config.Cmd, ports: Object.keys(Config.ExposedPorts ?? {}) }).toEqual({ name, cmd: ['node', `/app/${bundle}`], ports: [`${API_PORT}/tcp`] });
    }
  });

  test('the bundle in the image is the one built: same sha256 as dist/manifest.json, not writable by the pod user', async () => {
    const image = built.images['cairn-api']!;
    const { output } = await run('podman', ['run', '--rm', ...POD_LIKE, '--network', 'none', image, 'sh', '-c', 'sha256sum /app/api.js; id -u; touch /app/x 2>&1 || echo read-only']);
    const api = manifest.files.find((f) => f.path === 'api.js')!;
    expect(output).toContain(`${api.sha256}  /app/api.js`);
    expect(output).toContain(`${RUNTIME_UID}\n`);
    expect(output).toContain('read-only');
  });

  test('the api image migrates, then serves /healthz and the version document on a read-only root', async () => {
    const image = built.images['cairn-api']!;
    const data = path.join(tmp, 'data');
    fs.mkdirSync(data);
    fs.chownSync(data, RUNTIME_UID, RUNTIME_UID);
    const port = await freePort();
    // The api role, as the chart runs it (the executor is not needed for health and version).
    const env = {
      CAIRN_HOST: '127.0.0.1',
      CAIRN_PORT: String(port),
      CAIRN_ROLE: 'api',
      CAIRN_EXECUTOR_URL: 'http://127.0.0.1:9',
      CAIRN_INTERNAL_TOKEN: 'images-test-internal-token',
    };
    const flags = [...POD_LIKE, '--network', 'host', '-v', `${data}:${DATA_DIR}`, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])];

    const migrate = await run('podman', ['run', '--rm', ...flags, image, 'node', '/app/api.js', 'migrate'], { allowFail: true });
    expect(migrate).toEqual({ code: 0, output: expect.stringMatching(/Applied migrations|Schema is up to date/) });

    const name = `cairn-images-test-api-${process.pid}`;
    containers.push(name);
    const server = spawn('podman', ['run', '--rm', '--name', name, ...flags, image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = collectOutput(server);
    try {
      const health = await waitForUrl(`http://127.0.0.1:${port}/healthz`, 120_000);
      expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { status: 'ok' } });
      const versions = await fetch(`http://127.0.0.1:${port}/function/`);
      expect(await versions.json()).toMatchObject({ platform: { name: 'cairn', version: manifest.version } });
    } finally {
      await run('podman', ['stop', '--time', '20', name], { allowFail: true });
    }
    const { output } = await done;
    expect(output).toContain(`cairn-api ${manifest.version} `);
  });

  describe.each([
    ['cairn-runtime-python3', 'main.py', "def main(name='nobody', **kwargs):\n    return 'hello ' + name\n", 'main.main'],
    ['cairn-runtime-nodejs', 'main.js', "exports.main = async (context, input) => 'hello ' + input.name;\n", 'main.main'],
  ] as const)('%s', (image, file, source, entry) => {
    let child: ChildProcess;
    let control: NodeJS.ReadableStream & NodeJS.WritableStream;
    const lines: string[] = [];
    let waiting: (() => void) | undefined;

    beforeAll(() => {
      const fnDir = path.join(tmp, `fn-${image}`);
      fs.mkdirSync(fnDir);
      fs.writeFileSync(path.join(fnDir, file), source);
      fs.chmodSync(fnDir, 0o755);
      // fd 3 of this process's child (a socket pair) is passed through podman into the container
      // (--preserve-fds 1): the runtime's control channel, exactly as the executor hands it over.
      child = spawn('podman', ['run', '--rm', '-i', '--preserve-fds', '1', ...POD_LIKE, '--network', 'none', '-v', `${fnDir}:/function:ro`, built.images[image]!], {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
      control = child.stdio[3] as unknown as NodeJS.ReadableStream & NodeJS.WritableStream;
      let buffered = '';
      control.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
          lines.push(buffered.slice(0, i));
          buffered = buffered.slice(i + 1);
        }
        waiting?.();
      });
    });

    afterAll(() => child?.kill('SIGKILL'));

    async function nextLine(timeoutMs: number): Promise<unknown> {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (Date.now() > deadline) throw new Error(`no control line from ${image} in ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 200);
        });
      }
      return JSON.parse(lines.shift()!);
    }

    test('answers the ready check on fd 3', async () => {
      expect(await nextLine(60_000)).toEqual({ ready: true });
    });

    test('runs a function from the mounted /function', async () => {
      control.write(`${JSON.stringify({ op: 'run', id: 'e1', entry, input: { kind: 'object', value: { name: 'cairn' } }, context: {}, end: '--end-e1--' })}\n`);
      expect(await nextLine(30_000)).toMatchObject({ ok: true, output: 'hello cairn' });
    });

    test("starts as the executor's Kubernetes backend starts a runtime pod: agent, code upload, ready, run", async () => {
      const port = await freePort();
      const secret = `agent-secret-${process.pid}`;
      const runtime = image === 'cairn-runtime-python3' ? 'python3' : 'nodejs';
      const pod = runtimePod({
        name: 'images-test', runtime, image: built.images[image]!, version: manifest.version, runtimeDir: IMAGE_RUNTIME_DIR,
        controlPort: port, secret, limits: { cpuMillis: 500, memoryBytes: 256 * 2 ** 20 }, tmpBytes: 64 * 2 ** 20, functionDirBytes: 64 * 2 ** 20,
      });
      const [container] = pod.spec!.containers;
      // The pod's env (POD_IP as the downward API would give it on this host network), command, volumes.
      const env = [...(container.env ?? []).filter((e) => e.value !== undefined).map((e) => `${e.name}=${e.value}`), 'POD_IP=127.0.0.1'];
      const name = `cairn-images-test-${runtime}-${process.pid}`;
      containers.push(name);
      const agent = spawn('podman', ['run', '--rm', '--name', name, ...POD_LIKE, '--network', 'host', '--tmpfs', '/function:rw,size=64m,mode=1777',
        ...env.flatMap((e) => ['-e', e]), '--workdir', container.workingDir ?? '/tmp', built.images[image]!, ...container.command!], { stdio: ['ignore', 'pipe', 'pipe'] });
      const agentOutput = collectOutput(agent);
      try {
        const connect = async (kind: string): Promise<net.Socket> => {
          const deadline = Date.now() + 60_000;
          for (;;) {
            try {
              const socket = await new Promise<net.Socket>((resolve, reject) => {
                const sock = net.connect(port, '127.0.0.1', () => resolve(sock)).once('error', reject);
              });
              socket.write(`${kind} ${secret}\n`);
              return socket;
            } catch (err) {
              if (Date.now() > deadline) throw err;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        };
        const readLine = (socket: net.Socket): Promise<string> =>
          new Promise((resolve, reject) => {
            let buf = '';
            const onData = (d: Buffer): void => {
              buf += d.toString();
              const nl = buf.indexOf('\n');
              if (nl === -1) return;
              socket.off('data', onData);
              resolve(buf.slice(0, nl));
            };
            socket.on('data', onData).once('error', reject);
            setTimeout(() => reject(new Error(`no line from the ${runtime} pod agent; output so far: ${buf}`)), 30_000);
          });

        const code = await connect('code');
        const bytes = Buffer.from(source);
        code.end(Buffer.concat([Buffer.from(`${file}\t${bytes.length}\n`), bytes]));
        expect(await readLine(code)).toBe('ok');

        const ctl = await connect('ctl');
        const log = await connect('log');
        log.resume();
        expect(JSON.parse(await readLine(ctl))).toEqual({ ready: true });
        ctl.write(`${JSON.stringify({ op: 'run', id: 'e2', entry, input: { kind: 'object', value: { name: 'pod' } }, context: {}, end: '--end-e2--' })}\n`);
        expect(JSON.parse(await readLine(ctl))).toMatchObject({ ok: true, output: 'hello pod' });
        ctl.destroy();
        log.destroy();
      } finally {
        await run('podman', ['rm', '-f', name], { allowFail: true });
      }
      await agentOutput;
    });
  });
});
