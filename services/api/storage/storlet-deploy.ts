// Storlet deployment checks (spec/storlets.md §2.3): an object PUT or POST into the `storlet` or
// `dependency` container must carry the `X-Object-Meta-Storlet-*` metadata Storlets requires, or
// it is refused with a 400 naming the problem before anything is stored. Besides Storlets' Python,
// Cairn takes `nodejs` storlets (functions-runtime/storlets/shim.js) under the same rules, with
// `.js` for `.py`.
import { CairnError } from '../../core/errors';
import type { Metadata } from '../../core/objectstore/backend';

/** Container names, as Storlets' defaults. */
export const STORLET_CONTAINERS = { storlet: 'storlet', dependency: 'dependency', log: 'storletlog' } as const;

const REQUIRED_STORLET_KEYS = ['storlet-language', 'storlet-interface-version', 'storlet-object-metadata', 'storlet-main'] as const;

function headerName(key: string): string {
  return `X-Object-Meta-${key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())}`;
}

/** Languages a storlet may be written in: the object name's suffix and what Main's second part names. */
const LANGUAGES = {
  python: { suffix: '.py', label: 'Python', what: 'ClassName' },
  nodejs: { suffix: '.js', label: 'Node.js', what: 'ExportName' },
} as const;

export type StorletLanguage = keyof typeof LANGUAGES;

const NODE_MAJOR = process.versions.node.split('.')[0];

/** The language of a deployed storlet (case-insensitive, as Storlets compares it); undefined when unsupported. */
export function storletLanguage(meta: Metadata): StorletLanguage | undefined {
  const language = (meta['storlet-language'] ?? '').toLowerCase();
  return language === 'python' || language === 'nodejs' ? language : undefined;
}

const bad = (reason: string): CairnError => new CairnError('storlet.invalid_deployment', { reason });

/** Checks a storlet object's name and metadata; throws the first problem as a 400. */
export function validateStorlet(name: string, meta: Metadata): void {
  for (const key of REQUIRED_STORLET_KEYS) {
    if (!meta[key]) throw bad(`Mandatory parameter is missing: ${headerName(key)}`);
  }
  const language = meta['storlet-language'].toLowerCase();
  if (language === 'java') {
    if (!name.includes('-') || !name.includes('.')) throw bad('Java storlet name must be of the form <name>-<version>.jar');
    // The recommendation (spec §5.1): one interpreter shipped, Java answered like any unknown language.
    throw bad('Storlet language Java is not supported by this deployment; deploy a Python storlet');
  }
  const lang = storletLanguage(meta);
  if (!lang) throw bad(`Storlet language ${meta['storlet-language']} is not supported; use Python or nodejs`);
  if (meta['storlet-interface-version'] !== '1.0') throw bad(`Unsupported X-Object-Meta-Storlet-Interface-Version ${meta['storlet-interface-version']}; expected 1.0`);
  const version = meta['storlet-language-version'];
  if (lang === 'python' && version !== undefined && !/^3(\.\d+){0,2}$/.test(version)) throw bad(`Storlet language version ${version} is not supported; use 3.x`);
  // The sandbox runs the platform's own Node.js: a version names its major release or is refused.
  if (lang === 'nodejs' && version !== undefined && !new RegExp(`^${NODE_MAJOR}(\\.\\d+){0,2}$`).test(version)) {
    throw bad(`Storlet language version ${version} is not supported; use ${NODE_MAJOR}`);
  }
  const { suffix, label, what } = LANGUAGES[lang];
  if (!name.endsWith(suffix)) throw bad(`${label} storlet object name must end with ${suffix}`);
  const module = name.slice(0, -suffix.length);
  const parts = meta['storlet-main'].split('.');
  if (parts.length !== 2 || parts[0] !== module || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(parts[1]) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(module)) {
    throw bad(`X-Object-Meta-Storlet-Main must be ${module}.<${what}> (the module is the object name without ${suffix})`);
  }
  const deps = dependencyList(meta);
  const seen = new Set<string>();
  for (const d of deps) {
    if (d === name) throw bad(`Dependency ${d} has the same name as the storlet`);
    if (seen.has(d)) throw bad(`Dependency ${d} is listed twice`);
    seen.add(d);
  }
}

/** The dependency objects a storlet names, in order. */
export function dependencyList(meta: Metadata): string[] {
  const raw = meta['storlet-dependency'];
  return raw ? raw.split(',').map((d) => d.trim()).filter(Boolean) : [];
}

/** Checks a dependency object's metadata; throws the first problem as a 400. */
export function validateDependency(meta: Metadata): void {
  if (!meta['storlet-dependency-version']) throw bad('Mandatory parameter is missing: X-Object-Meta-Storlet-Dependency-Version');
  const perm = meta['storlet-dependency-permissions'];
  if (perm !== undefined && perm !== '') {
    if (!/^0?[0-7]{3}$/.test(perm)) throw bad(`X-Object-Meta-Storlet-Dependency-Permissions ${perm} is not an octal mode such as 0755`);
    // The storlet's engine must still be able to replace the file: the owner keeps read and write.
    if ((parseInt(perm, 8) & 0o600) !== 0o600) throw bad(`X-Object-Meta-Storlet-Dependency-Permissions ${perm} must keep the owner's read and write bits`);
  }
}

/** File mode a dependency gets in the sandbox. @default 0644 */
export function dependencyMode(meta: Metadata): number {
  const perm = meta['storlet-dependency-permissions'];
  return perm ? parseInt(perm, 8) & 0o777 : 0o644;
}
