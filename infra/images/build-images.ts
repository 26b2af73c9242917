// Builds the container images of a bundle with podman, no registry needed: the Debian base
// (debian-rootfs.ts), then cairn-base, then each service and runtime image from its Containerfile
// with dist/ as the build context. Every image is tagged `<registry>/<name>:<version>` — the
// reference the charts use (infra/k8s/pod-security.ts pinnedImage) — and labelled with the
// version and bundle hash of dist/manifest.json.
//
// `npm run images [-- --registry registry.example.com/cairn]` builds all of them from dist/;
// pushing is left to the operator (`podman push`).
import * as path from 'node:path';
import { readManifest } from '../bundle/build';
import { ensureDebianBase, run } from './debian-rootfs';

/**
 * Where the runtime images keep the runtime servers (`<dir>/python3/server.py`,
 * `<dir>/nodejs/server.js`): the default of CAIRN_K8S_IMAGE_RUNTIME_DIR, where the executor's
 * Kubernetes backend starts them.
 */
export const IMAGE_RUNTIME_DIR = '/opt/cairn/functions-runtime';

/** The images of the bundle: the name the charts reference, and its Containerfile. */
export const IMAGES = {
  'cairn-api': 'api.Containerfile',
  'cairn-executor': 'executor.Containerfile',
  'cairn-runtime-python3': 'runtime-python3.Containerfile',
  'cairn-runtime-nodejs': 'runtime-nodejs.Containerfile',
} as const;
export type ImageName = keyof typeof IMAGES;

export interface BuildImagesOptions {
  /** The bundle (`npm run build` output): the build context. @default <repo>/dist */
  distDir?: string;
  /** @default localhost/cairn */
  registry?: string;
  /** Which images. @default all of IMAGES */
  images?: ImageName[];
  /** @default podman */
  podman?: string;
  /** Passed to ensureDebianBase. @default ~/.cache/cairn/images */
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface BuiltImages {
  version: string;
  bundleSha256: string;
  debianBase: string;
  base: string;
  images: Partial<Record<ImageName, string>>;
}

/**
 * Flags every `podman build` here needs: no pulls (there is no registry); no layer cache (podman
 * reused a cached LABEL layer whose build-arg value had changed, so a runtime image whose files
 * had not changed kept the previous bundle's hash; the layers are only COPYs, seconds to redo);
 * explicit ulimits, since without CAP_SYS_RESOURCE podman's defaults are refused by runc.
 */
export const PODMAN_BUILD_FLAGS = ['--pull=never', '--no-cache', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];

export async function buildImages(options: BuildImagesOptions = {}): Promise<BuiltImages> {
  const distDir = path.resolve(options.distDir ?? path.join(__dirname, '..', '..', 'dist'));
  const registry = (options.registry ?? 'localhost/cairn').replace(/\/+$/, '');
  const podman = options.podman ?? 'podman';
  const log = options.log ?? (() => undefined);
  const { version, bundleSha256 } = readManifest(distDir);

  const debian = await ensureDebianBase({ podman, cacheDir: options.cacheDir, log });
  const base = `${registry}/cairn-base:${version}`;
  await build(podman, log, 'base.Containerfile', base, __dirname, { DEBIAN_ROOTFS: debian.image, CAIRN_VERSION: version });

  const images: BuiltImages['images'] = {};
  for (const name of options.images ?? (Object.keys(IMAGES) as ImageName[])) {
    const ref = `${registry}/${name}:${version}`;
    await build(podman, log, IMAGES[name], ref, distDir, { BASE_IMAGE: base, CAIRN_VERSION: version, CAIRN_BUNDLE_SHA256: bundleSha256 });
    images[name] = ref;
  }
  return { version, bundleSha256, debianBase: debian.image, base, images };
}

async function build(podman: string, log: (line: string) => void, containerfile: string, tag: string, context: string, args: Record<string, string>): Promise<void> {
  log(`podman build ${containerfile} -> ${tag}`);
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  await run(podman, ['build', ...PODMAN_BUILD_FLAGS, '--file', path.join(__dirname, containerfile), ...buildArgs, '--tag', tag, context]);
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const started = Date.now();
  buildImages({ registry: flag('registry'), distDir: flag('dist'), log: (l) => console.log(l) }).then(
    (built) => console.log(`Built ${Object.values(built.images).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
