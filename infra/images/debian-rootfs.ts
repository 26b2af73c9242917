// The Debian root file system the images start from, made without any registry: debootstrap
// installs base-packages.txt from the Debian mirror into a directory, which is packed into a tar
// kept under ~/.cache/cairn/images/ and imported into podman as
// `localhost/cairn-debian:<suite>-<key>`, the key being the sha256 of base-packages.txt. A cached
// tar or an image already in podman's store is reused, so only the first run pays for debootstrap.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BASE_PACKAGES_FILE = path.join(__dirname, 'base-packages.txt');

/** base-packages.txt, read. */
export interface DebianBaseSpec {
  suite: string;
  mirror: string;
  variant: string;
  packages: string[];
  /** First 16 hex digits of the file's sha256: names the cached tar and the imported image. */
  key: string;
}

export interface DebianBaseOptions {
  /** @default infra/images/base-packages.txt */
  specFile?: string;
  /** Where the root file system tars are kept. @default ~/.cache/cairn/images */
  cacheDir?: string;
  /** @default podman */
  podman?: string;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

export interface DebianBase {
  image: string;
  spec: DebianBaseSpec;
  /** What this call had to do: both false when the image was already in podman's store. */
  debootstrapped: boolean;
  imported: boolean;
}

export function readBaseSpec(file = BASE_PACKAGES_FILE): DebianBaseSpec {
  const text = fs.readFileSync(file, 'utf8');
  const fields = new Map<string, string[]>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [keyword, value, extra] = line.split(/\s+/);
    if (!['suite', 'mirror', 'variant', 'package'].includes(keyword) || !value || extra) {
      throw new Error(`${file}:${i + 1}: expected "suite|mirror|variant|package <value>", got "${line}"`);
    }
    fields.set(keyword, [...(fields.get(keyword) ?? []), value]);
  });
  const one = (k: string): string => {
    const v = fields.get(k);
    if (v?.length !== 1) throw new Error(`${file}: needs exactly one "${k}" line`);
    return v[0];
  };
  return {
    suite: one('suite'),
    mirror: one('mirror'),
    variant: one('variant'),
    packages: fields.get('package') ?? [],
    key: createHash('sha256').update(text).digest('hex').slice(0, 16),
  };
}

/** The imported Debian base image, made (or taken from the cache) as needed. */
export async function ensureDebianBase(options: DebianBaseOptions = {}): Promise<DebianBase> {
  const spec = readBaseSpec(options.specFile);
  const podman = options.podman ?? 'podman';
  const log = options.log ?? (() => undefined);
  const image = `localhost/cairn-debian:${spec.suite}-${spec.key}`;
  if ((await run(podman, ['image', 'exists', image], { allowFail: true })).code === 0) {
    return { image, spec, debootstrapped: false, imported: false };
  }
  const cacheDir = options.cacheDir ?? path.join(os.homedir(), '.cache', 'cairn', 'images');
  const tar = path.join(cacheDir, `debian-${spec.suite}-${spec.key}.tar`);
  let debootstrapped = false;
  if (!fs.existsSync(tar)) {
    await debootstrap(spec, cacheDir, tar, log);
    debootstrapped = true;
  }
  log(`podman import ${tar} ${image}`);
  await run(podman, ['import', '--message', `debootstrap ${spec.variant} ${spec.suite}: ${spec.packages.join(' ')}`, tar, image]);
  return { image, spec, debootstrapped, imported: true };
}

async function debootstrap(spec: DebianBaseSpec, cacheDir: string, tar: string, log: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('debootstrap needs root (it creates device nodes and chroots): run as root, or import a base made elsewhere');
  fs.mkdirSync(cacheDir, { recursive: true });
  // Beside the tar (same file system, so the final rename is atomic); removed whatever happens.
  const work = fs.mkdtempSync(path.join(cacheDir, 'rootfs-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    log(`debootstrap --variant=${spec.variant} ${spec.suite} from ${spec.mirror}`);
    await run('debootstrap', [`--variant=${spec.variant}`, spec.suite, rootfs, spec.mirror], { hint: 'install it with: apt-get install -y debootstrap' });
    // The packages go in with apt inside the new system rather than debootstrap's --include,
    // whose single configure pass fails on packages with deep dependency chains
    // (python3-cryptography under python3-keystoneauth1).
    if (spec.packages.length) {
      log(`apt-get install ${spec.packages.join(' ')}`);
      fs.copyFileSync('/etc/resolv.conf', path.join(rootfs, 'etc', 'resolv.conf'));
      const env = ['env', 'DEBIAN_FRONTEND=noninteractive', 'LANG=C.UTF-8', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'];
      await run('chroot', [rootfs, ...env, 'apt-get', 'update', '-qq']);
      await run('chroot', [rootfs, ...env, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...spec.packages]);
      await run('chroot', [rootfs, ...env, 'apt-get', 'clean']);
      fs.writeFileSync(path.join(rootfs, 'etc', 'resolv.conf'), '');
    }
    // Downloaded .debs and package lists are not part of the image.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of fs.readdirSync(path.join(rootfs, dir), { withFileTypes: true })) {
        if (entry.isFile()) fs.rmSync(path.join(rootfs, dir, entry.name));
      }
    }
    const partial = `${tar}.partial`;
    await run('tar', ['--numeric-owner', '--sort=name', '-C', rootfs, '-cf', partial, '.']);
    fs.renameSync(partial, tar);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Runs a command; rejects with its output when it fails (unless allowFail). */
export function run(cmd: string, args: string[], opts: { allowFail?: boolean; hint?: string; cwd?: string } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'ENOENT' ? `${cmd} is not installed${opts.hint ? `: ${opts.hint}` : ''}` : err.message)));
    child.on('close', (code) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0 || opts.allowFail) resolve({ code, output });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}
