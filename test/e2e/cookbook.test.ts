// Every flow of Qinling's function cookbook (shared/seeds/000_…), unchanged, through the real
// `openstack` CLI (python3-openstackclient + python3-qinlingclient) and the real `swift` CLI,
// against a platform started as `npm start` starts it, with password auth through /identity/v3.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliJson, cliOk, runCli } from './cli';
import { startPlatformProcess, type RunningPlatform } from './platform-process';

jest.setTimeout(300_000);

let platform: RunningPlatform;
let env: Record<string, string>;
let work: string;

interface Execution {
  id: string;
  status: string;
  result: string;
  input: string | null;
}

beforeAll(async () => {
  platform = await startPlatformProcess();
  env = platform.openrc();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cookbook-'));
});

afterAll(async () => {
  await platform?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const openstack = (args: string[]) => cliJson('openstack', args, env, work);
const result = (e: Execution) => JSON.parse(e.result) as { duration: number; output?: unknown };

function writeFile(rel: string, text: string): string {
  const file = path.join(work, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** `zip -r` of a directory's contents, as the cookbook does. */
function zipDir(dir: string, zipName: string): string {
  const out = path.join(work, zipName);
  execFileSync('zip', ['-qr9', out, '.'], { cwd: dir });
  return out;
}

const HELLO = `def main(name='World', **kwargs):
    ret = 'Hello, %s' % name
    return ret
`;

describe('hello world', () => {
  test('from --file, with and without --input; log show prints start, prints and finish', async () => {
    writeFile('hello/hello_world.py', `def main(name='World', **kwargs):\n    print('Hello from the log')\n    return 'Hello, %s' % name\n`);
    const fn = await openstack(['function', 'create', '--runtime', 'python3', '--entry', 'hello_world.main', '--file', path.join(work, 'hello/hello_world.py'), '--name', 'hello_file']);
    expect(fn.runtime_id).toBeTruthy();
    expect(JSON.stringify(fn.code)).toContain('package');

    const plain = await openstack(['function', 'execution', 'create', '--function', 'hello_file']) as unknown as Execution;
    expect(plain.status).toBe('success');
    expect(result(plain).output).toBe('Hello, World');

    const withInput = await openstack(['function', 'execution', 'create', '--function', 'hello_file', '--input', '{"name": "foo"}']) as unknown as Execution;
    expect(withInput.status).toBe('success');
    expect(result(withInput).output).toBe('Hello, foo');
    expect(withInput.input).toBe('{"name": "foo"}');

    const log = await cliOk('openstack', ['function', 'execution', 'log', 'show', withInput.id], env);
    expect(log.split('\n').filter(Boolean)).toEqual([`Start execution: ${withInput.id}`, 'Hello from the log', `Finished execution: ${withInput.id}`]);
  });

  test('from --package (a zip of the directory)', async () => {
    writeFile('pkg/hello_world.py', HELLO);
    const zip = zipDir(path.join(work, 'pkg'), 'hello_pkg.zip');
    const fn = await openstack(['function', 'create', '--runtime', 'python3', '--entry', 'hello_world.main', '--package', zip, '--name', 'hello_package']);
    const e = await openstack(['function', 'execution', 'create', '--function', String(fn.id), '--input', '{"name": "bar"}']) as unknown as Execution;
    expect(e.status).toBe('success');
    expect(result(e).output).toBe('Hello, bar');
    const download = path.join(work, 'downloaded.zip');
    await cliOk('openstack', ['function', 'download', String(fn.id), '-o', download], env);
    expect(fs.readFileSync(download).equals(fs.readFileSync(zip))).toBe(true);
  });
});

test('a function whose package is an object in the store (--container/--object)', async () => {
  writeFile('swiftpkg/hello_world.py', HELLO);
  const zip = zipDir(path.join(work, 'swiftpkg'), 'hello_world.zip');
  await openstack(['container', 'create', 'functions']);
  // `openstack object create` names the object after the file, relative to cwd, as in the cookbook.
  await openstack(['object', 'create', 'functions', 'hello_world.zip']);
  const shown = await openstack(['object', 'show', 'functions', 'hello_world.zip']);
  expect(Number(shown['content-length'])).toBe(fs.statSync(zip).size);
  const fn = await openstack(['function', 'create', '--name', 'hello_swift', '--runtime', 'python3', '--entry', 'hello_world.main', '--container', 'functions', '--object', 'hello_world.zip']);
  const e = await openstack(['function', 'execution', 'create', '--function', String(fn.id)]) as unknown as Execution;
  expect(e.status).toBe('success');
  expect(result(e).output).toBe('Hello, World');
  // The same object through the swift CLI, byte-identical.
  const back = path.join(work, 'swift-download.zip');
  await cliOk('swift', ['download', 'functions', 'hello_world.zip', '-o', back], env);
  expect(fs.readFileSync(back).equals(fs.readFileSync(zip))).toBe(true);
});

/** The cookbook's resize_image package: its Python 3 code with Pillow beside it. */
function resizePackage(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  // `pip install Pillow -t dir` is not possible without the package index: Debian's python3-pil
  // files are the same library, copied where pip would put them.
  fs.cpSync('/usr/lib/python3/dist-packages/PIL', path.join(dir, 'PIL'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'resize_image.py'),
    `import os

from PIL import Image
import swiftclient
from swiftclient.exceptions import ClientException


def resize_image(image_path, resized_path):
    with Image.open(image_path) as image:
        image.thumbnail(tuple(x / 4 for x in image.size))
        image.save(resized_path)


def main(context, container_name, object_name):
    conn = swiftclient.Connection(
        session=context['os_session'],
        os_options={'region_name': 'RegionOne'},
    )

    # Download original image
    image_path = os.path.abspath('./%s' % object_name)
    _, obj_contents = conn.get_object(container_name, object_name)
    with open(image_path, 'wb') as local:
        local.write(obj_contents)

    print('Downloaded object %s from container %s' % (object_name, container_name))

    thumb_path = os.path.abspath('./%s_resized.png' % object_name)
    resize_image(image_path, thumb_path)

    print('Resized.')

    # Create new container if needed
    new_container_name = '%s_resized' % container_name
    try:
        conn.head_container(new_container_name)
    except ClientException:
        conn.put_container(new_container_name)
        print("New container %s created." % new_container_name)

    # Upload resized image
    with open(thumb_path, 'rb') as new_local:
        conn.put_object(
            new_container_name,
            object_name,
            contents=new_local,
            content_type='text/plain'
        )
    os.remove(image_path)
    os.remove(thumb_path)

    print('Uploaded object %s to container %s' % (object_name, new_container_name))
`,
  );
  return zipDir(dir, `${name}.zip`);
}

test('image resize: Pillow inside the package, os_session to the object store', async () => {
  const zip = resizePackage('resize');
  const fn = await openstack(['function', 'create', '--name', 'resize_image', '--runtime', 'python3', '--entry', 'resize_image.main', '--package', zip]);

  const origin = path.join(work, 'origin.jpg');
  execFileSync('/usr/bin/python3', ['-c', `from PIL import Image; Image.new('RGB', (400, 300), (200, 40, 40)).save(${JSON.stringify(origin)}, 'PNG')`]);
  await openstack(['container', 'create', 'origin_folder']);
  await openstack(['object', 'create', 'origin_folder', origin, '--name', 'image']);
  const original = await openstack(['object', 'show', 'origin_folder', 'image']);

  const e = await openstack(['function', 'execution', 'create', '--function', String(fn.id), '--input', '{"container_name": "origin_folder", "object_name": "image"}']) as unknown as Execution;
  const log = await cliOk('openstack', ['function', 'execution', 'log', 'show', e.id], env);
  expect({ status: e.status, log }).toEqual({ status: 'success', log: expect.stringContaining('Uploaded object image to container origin_folder_resized') });
  expect(log).toContain('Downloaded object image from container origin_folder');
  expect(log).toContain('New container origin_folder_resized created.');

  const containers = await openstack(['container', 'list']) as unknown as { Name: string }[];
  expect(containers.map((c) => c.Name)).toEqual(expect.arrayContaining(['origin_folder', 'origin_folder_resized']));
  const objects = await openstack(['object', 'list', 'origin_folder_resized']) as unknown as { Name: string }[];
  expect(objects.map((o) => o.Name)).toEqual(['image']);
  const resized = await openstack(['object', 'show', 'origin_folder_resized', 'image']);
  expect(Number(resized['content-length'])).toBeLessThan(Number(original['content-length']));
  // And through the swift CLI.
  expect((await cliOk('swift', ['list', 'origin_folder_resized'], env)).trim()).toBe('image');
});

test('timeout: fails at the 5 s default, succeeds after `function update --timeout 15`', async () => {
  writeFile('sleep/test_sleep.py', `import time\ndef main(seconds=10, **kwargs):\n    time.sleep(seconds)\n`);
  await openstack(['function', 'create', '--runtime', 'python3', '--entry', 'test_sleep.main', '--file', path.join(work, 'sleep/test_sleep.py'), '--name', 'test_sleep']);
  const first = await openstack(['function', 'execution', 'create', '--function', 'test_sleep']) as unknown as Execution;
  expect(first.status).toBe('failed');
  expect(result(first).output).toBe('Function execution timeout.');
  expect(result(first).duration).toBeGreaterThanOrEqual(5);

  const updated = await openstack(['function', 'update', 'test_sleep', '--timeout', '15']);
  expect(updated.timeout).toBe(15);
  const second = await openstack(['function', 'execution', 'create', '--function', 'test_sleep']) as unknown as Execution;
  expect(second.status).toBe('success');
  expect(result(second).output).toBeNull();
  expect(result(second).duration).toBeGreaterThanOrEqual(10);
});

test('listing, filters and delete through the CLI', async () => {
  const fns = await openstack(['function', 'list']) as unknown as { Name: string }[];
  expect(fns.map((f) => f.Name)).toEqual(expect.arrayContaining(['hello_file', 'hello_package', 'test_sleep']));
  const failed = await openstack(['function', 'execution', 'list', '--filter', 'status=failed']) as unknown as { Status: string }[];
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.every((e) => e.Status === 'failed')).toBe(true);
  const r = await runCli('openstack', ['function', 'delete', 'hello_package'], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Request to delete function .* has been accepted\./);
});

test('an image function from a locally built image (podman, no registry)', async () => {
  // The cookbook's image prints `Hello <argv[1]>` and sleeps 3 s, with CMD ["Qinling"]. No base
  // image can be pulled here, so it is a static busybox imported with `podman import`.
  const root = path.join(work, 'image-root');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  for (const applet of ['sh', 'echo', 'sleep']) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  const tar = path.join(work, 'image.tar');
  execFileSync('tar', ['-C', root, '-cf', tar, '.']);
  const image = 'localhost/cairn-cookbook-hello:1';
  execFileSync('podman', ['import', '--change', 'ENTRYPOINT ["/bin/sh", "-c", "echo Hello $1; sleep 3", "hello"]', '--change', 'CMD ["Qinling"]', tar, image], { stdio: 'ignore' });
  try {
    const fn = await openstack(['function', 'create', '--name', 'docker_test', '--image', image]);
    expect(fn).toMatchObject({ runtime_id: null, entry: null });
    const e = await openstack(['function', 'execution', 'create', '--function', 'docker_test']) as unknown as Execution;
    expect(e.status).toBe('success');
    expect(result(e).duration).toBeGreaterThanOrEqual(3);
    expect(result(e)).not.toHaveProperty('output');
    expect((await cliOk('openstack', ['function', 'execution', 'log', 'show', e.id], env)).trim()).toBe('Hello Qinling');
    const withInput = await openstack(['function', 'execution', 'create', '--function', 'docker_test', '--input', 'Cairn']) as unknown as Execution;
    expect((await cliOk('openstack', ['function', 'execution', 'log', 'show', withInput.id], env)).trim()).toBe('Hello Cairn');
  } finally {
    execFileSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
  }
});

test('the same storage steps through the swift CLI: package object and image resize', async () => {
  // Package kept in the store, uploaded with `swift upload`.
  const dir = path.join(work, 'swift-flow');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'hello_world.py'), HELLO);
  execFileSync('zip', ['-q', path.join(dir, 'hello_swift.zip'), 'hello_world.py'], { cwd: dir });
  await cliOk('swift', ['upload', 'swift_functions', 'hello_swift.zip'], env, { cwd: dir });
  expect((await cliOk('swift', ['list', 'swift_functions'], env)).trim()).toBe('hello_swift.zip');
  const fn = await openstack(['function', 'create', '--name', 'hello_from_swift', '--runtime', 'python3', '--entry', 'hello_world.main', '--container', 'swift_functions', '--object', 'hello_swift.zip']);
  const e = await openstack(['function', 'execution', 'create', '--function', String(fn.id), '--input', '{"name": "swift"}']) as unknown as Execution;
  expect(result(e).output).toBe('Hello, swift');

  // The resize function reads and writes objects the swift CLI uploads and downloads.
  execFileSync('/usr/bin/python3', ['-c', `from PIL import Image; Image.new('RGB', (640, 480), (10, 120, 200)).save('photo.png', 'PNG')`], { cwd: dir });
  await cliOk('swift', ['upload', 'photos', 'photo.png', '--object-name', 'image'], env, { cwd: dir });
  const resize = await openstack(['function', 'create', '--name', 'resize_swift', '--runtime', 'python3', '--entry', 'resize_image.main', '--package', resizePackage('resize_swift')]);
  const run = await openstack(['function', 'execution', 'create', '--function', String(resize.id), '--input', '{"container_name": "photos", "object_name": "image"}']) as unknown as Execution;
  expect(run.status).toBe('success');
  const stat = await cliOk('swift', ['stat', 'photos_resized', 'image'], env);
  const size = Number(/Content Length: (\d+)/.exec(stat)?.[1]);
  expect(size).toBeGreaterThan(0);
  expect(size).toBeLessThan(fs.statSync(path.join(dir, 'photo.png')).size);
  await cliOk('swift', ['download', 'photos_resized', 'image', '-o', path.join(dir, 'small.png')], env);
  expect(execFileSync('/usr/bin/python3', ['-c', `from PIL import Image; print(Image.open(${JSON.stringify(path.join(dir, 'small.png'))}).size)`], { encoding: 'utf8' }).trim()).toBe('(160, 120)');
});
