// Builds the deployment bundle: dist/api.js and dist/executor.js (esbuild, one file each), the
// runtime servers in dist/functions-runtime/, the embedded database engine in dist/node_modules/,
// and dist/manifest.json with the platform version and every file's sha256.
//
// The same commit gives byte-identical output: no timestamps or absolute paths reach the output
// (esbuild runs relative to the repository root), legal comments are dropped, the version is a
// fixed `define`, and the manifest lists files in sorted order with sorted keys.
//
// `npm run build` runs this file; tests call buildBundle() with their own output directory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, type Plugin } from 'esbuild';

/** One file of the bundle, as recorded in the manifest. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** dist/manifest.json. */
export interface BundleManifest {
  name: 'cairn';
  version: string;
  /** sha256 over the sorted file list (path and sha256 of each): names the migration Job. */
  bundleSha256: string;
  /** Packages the bundles load at run time from dist/node_modules/, with their versions. */
  external: Record<string, string>;
  files: ManifestFile[];
}

export interface BuildOptions {
  /** Repository root (package.json, services/, functions-runtime/). @default the repository holding this file */
  rootDir?: string;
  /** Where the bundle is written; the build owns this directory except its k8s/ child. @default <rootDir>/dist */
  outDir?: string;
}

/** The service entry points, by output name. */
export const ENTRY_POINTS = { api: 'services/api-main.ts', executor: 'services/executor-main.ts' } as const;

/**
 * Left out of the single-file bundles and copied beside them into dist/node_modules/ instead.
 * PGlite locates its pglite.wasm, initdb.wasm and pglite.data relative to its own module file
 * (`new URL('./pglite.wasm', import.meta.url)`); inlined into dist/api.js it would look for them
 * beside the bundle under other names, so it stays a package of its own.
 */
export const EXTERNAL_PACKAGES = ['@electric-sql/pglite'] as const;

/**
 * Optional requires inside `pg` that never run on Node: the libpq binding (only with
 * `pg.native`) and the Cloudflare Workers socket. Marked external so esbuild does not try to
 * resolve them; they stay behind a `require` that is never reached.
 */
const NEVER_LOADED = ['pg-native', 'pg-cloudflare', 'cloudflare:sockets'];

/** Output children the build owns (and removes first, so no stale file survives a rebuild). */
const OWNED = ['api.js', 'executor.js', 'functions-runtime', 'node_modules', 'manifest.json'];

export async function buildBundle(options: BuildOptions = {}): Promise<BundleManifest> {
  const rootDir = path.resolve(options.rootDir ?? path.join(__dirname, '..', '..'));
  const outDir = path.resolve(options.outDir ?? path.join(rootDir, 'dist'));
  const version = readVersion(rootDir);

  fs.mkdirSync(outDir, { recursive: true });
  for (const child of OWNED) fs.rmSync(path.join(outDir, child), { recursive: true, force: true });

  await build({
    absWorkingDir: rootDir,
    entryPoints: Object.entries(ENTRY_POINTS).map(([out, src]) => ({ in: src, out })),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: [...EXTERNAL_PACKAGES, ...NEVER_LOADED],
    define: { CAIRN_BUNDLE_VERSION: JSON.stringify(version) },
    // The version readable with `head -1 dist/api.js`, without running or unpacking anything.
    banner: { js: `// Cairn ${version}` },
    legalComments: 'none',
    // Not minified: stack traces from production stay readable, and the size is not the point.
    minify: false,
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'warning',
    plugins: [packageVersionOnly(version)],
  });

  copyTree(path.join(rootDir, 'functions-runtime'), path.join(outDir, 'functions-runtime'));
  const external: Record<string, string> = {};
  for (const pkg of EXTERNAL_PACKAGES) {
    const src = path.join(rootDir, 'node_modules', pkg);
    copyTree(src, path.join(outDir, 'node_modules', pkg));
    external[pkg] = readVersion(src);
  }

  const files = listFiles(outDir)
    .filter((f) => f.split('/')[0] !== 'k8s' && f !== 'manifest.json')
    .map((f): ManifestFile => {
      const bytes = fs.readFileSync(path.join(outDir, f));
      return { path: f, bytes: bytes.length, sha256: sha256(bytes) };
    });
  const manifest: BundleManifest = {
    name: 'cairn',
    version,
    bundleSha256: sha256(files.map((f) => `${f.sha256}  ${f.path}\n`).join('')),
    external,
    files,
  };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), `${stableJson(manifest)}\n`);
  return manifest;
}

/**
 * The services read package.json for the platform version and the pinned PGlite version; bundled
 * as is, the whole file (scripts, devDependencies) would be inlined and any edit to it would
 * change the bundle. Only name, version and the runtime dependencies go in.
 */
function packageVersionOnly(version: string): Plugin {
  return {
    name: 'cairn-package-json-runtime-fields',
    setup(b) {
      b.onLoad({ filter: /[\\/]package\.json$/ }, (args) => {
        const pkg = JSON.parse(fs.readFileSync(args.path, 'utf8')) as { name?: string; dependencies?: Record<string, string> };
        // Packages of node_modules keep their package.json untouched.
        if (pkg.name !== 'cairn') return undefined;
        return { contents: JSON.stringify({ name: pkg.name, version, dependencies: pkg.dependencies ?? {} }), loader: 'json' };
      });
    },
  };
}

/** Reads dist/manifest.json written by buildBundle. */
export function readManifest(outDir: string): BundleManifest {
  return JSON.parse(fs.readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as BundleManifest;
}

function readVersion(packageDir: string): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || !version) throw new Error(`${packageDir}/package.json has no "version"`);
  return version;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under dir, as sorted POSIX paths relative to it (byte order, not locale order). */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Copies regular files and directories; file modes are kept (server.py stays executable). */
function copyTree(from: string, to: string): void {
  if (!fs.existsSync(from)) throw new Error(`${from} is missing: run \`npm ci\` (or check the checkout)`);
  fs.cpSync(from, to, { recursive: true, dereference: true, preserveTimestamps: false });
}

/** JSON with object keys sorted at every level, two-space indented. */
function stableJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 2);
}

if (require.main === module) {
  const started = Date.now();
  buildBundle().then(
    (m) => console.log(`Built Cairn ${m.version} bundle ${m.bundleSha256.slice(0, 12)} (${m.files.length} files) in ${((Date.now() - started) / 1000).toFixed(1)} s`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
