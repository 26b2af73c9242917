// `cairn tenant-clone`: a new tenant stack's config, prepared from a template tenant stack's file
// (Pulumi.<template>.yaml) and the tenant's name, checked, and written as Pulumi.<tenant>.yaml,
// with the `pulumi` commands that create the stack. It needs no Pulumi CLI (`--run` uses one).
//
// Secrets are never decrypted, copied or printed: a stack's secrets are encrypted for that stack
// alone (its own key or salt), so they reach the new stack through
// `pulumi stack init --copy-config-from`, which re-encrypts them. That copy also overwrites the
// keys the template holds, so the tenant-specific keys are set again after it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readYamlFile, toYaml } from './stack-file';

export const TENANT_CLONE_USAGE = `tenant-clone --template <stack> --tenant <name> [--set key=value]… [--dir <project dir>] [--run]
            prepare Pulumi.<name>.yaml from the template tenant stack and print the pulumi commands that create it`;

/** Exit codes, documented in docs/operations.md. */
export const EXIT = { usage: 2, badName: 3, refused: 4, runFailed: 5 } as const;

export class TenantCloneError extends Error {
  constructor(
    readonly exitCode: (typeof EXIT)[keyof typeof EXIT],
    message: string,
  ) {
    super(message);
    this.name = 'TenantCloneError';
  }
}

export interface TenantCloneOptions {
  /** The template stack's name (Pulumi.<template>.yaml must exist). */
  template: string;
  /** The new tenant: its stack name and `cairn:tenant`. */
  tenant: string;
  /** `key=value` settings over the template's, `key` a config key (`cairn:` is implied) with `.` for a path. */
  set: string[];
  /** The Pulumi project directory (holding Pulumi.yaml). @default the working directory */
  dir: string;
  /** Run the commands with the Pulumi CLI after writing the file. @default false */
  run: boolean;
}

export interface TenantClonePlan {
  /** Pulumi.<tenant>.yaml, absolute. */
  file: string;
  /** The new stack's plaintext config (secure values left out). */
  config: Record<string, unknown>;
  /** Keys whose values are encrypted in the template (copied by `--copy-config-from`). */
  secretKeys: string[];
  /** The pulumi commands, each as argv. */
  commands: string[][];
}

/** Stack file keys that belong to one stack's encryption, never to be carried over. */
const PER_STACK_KEYS = ['encryptionsalt', 'secretsprovider', 'encryptedkey'];
/** The tenant name: a DNS label short enough for `cairn-tenant-<name>` (63). */
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;
/** A Pulumi stack name. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/** `<org>/<project>/<stack>` or `<stack>`. */
const STACK_REF = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;
/** Keys under `cairn:quota` and `cairn:identity.quotas`: non-negative integers (cpu and memoryGiB may be fractional). */
const QUOTA_PARENTS = ['cairn:quota', 'cairn:identity.quotas'];

export function parseTenantCloneArgs(argv: string[]): TenantCloneOptions {
  const opts: TenantCloneOptions = { template: '', tenant: '', set: [], dir: process.cwd(), run: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new TenantCloneError(EXIT.usage, `${arg} needs a value\nusage: cairn ${TENANT_CLONE_USAGE}`);
      return v;
    };
    if (arg === '--template') opts.template = next();
    else if (arg === '--tenant') opts.tenant = next();
    else if (arg === '--set') opts.set.push(next());
    else if (arg === '--dir') opts.dir = path.resolve(next());
    else if (arg === '--run') opts.run = true;
    else throw new TenantCloneError(EXIT.usage, `unknown argument ${arg}\nusage: cairn ${TENANT_CLONE_USAGE}`);
  }
  const missing = ['template', 'tenant'].filter((k) => !opts[k as 'template' | 'tenant']);
  if (missing.length) throw new TenantCloneError(EXIT.usage, `${missing.map((k) => `--${k}`).join(' and ')} required\nusage: cairn ${TENANT_CLONE_USAGE}`);
  return opts;
}

/** Reads the template, rewrites and checks the config; throws TenantCloneError naming every problem. */
export function planTenantClone(opts: TenantCloneOptions): TenantClonePlan {
  if (!TENANT_NAME.test(opts.tenant)) {
    throw new TenantCloneError(EXIT.badName, `tenant "${opts.tenant}": expected a DNS label of at most 50 characters (lower-case letters, digits and '-', not at either end), as it names the namespace cairn-tenant-<tenant> and the stack`);
  }
  if (!STACK_NAME.test(opts.template)) throw new TenantCloneError(EXIT.usage, `template "${opts.template}": not a stack name`);
  if (!fs.existsSync(path.join(opts.dir, 'Pulumi.yaml'))) throw new TenantCloneError(EXIT.refused, `${opts.dir} holds no Pulumi.yaml: run from the project directory or pass --dir`);
  const templateFile = path.join(opts.dir, `Pulumi.${opts.template}.yaml`);
  const file = path.join(opts.dir, `Pulumi.${opts.tenant}.yaml`);
  if (!fs.existsSync(templateFile)) throw new TenantCloneError(EXIT.refused, `template stack ${opts.template}: ${templateFile} does not exist`);
  if (opts.tenant === opts.template) throw new TenantCloneError(EXIT.refused, `tenant "${opts.tenant}" is the template stack itself`);
  if (fs.existsSync(file)) throw new TenantCloneError(EXIT.refused, `stack ${opts.tenant} exists already (${file}); remove it or choose another name`);

  const doc = readYamlFile(templateFile) as { config?: Record<string, unknown> } | undefined;
  const template = doc?.config ?? {};
  if (template['cairn:kind'] !== 'tenant') {
    throw new TenantCloneError(EXIT.refused, `template stack ${opts.template} is not a tenant stack (cairn:kind is ${JSON.stringify(template['cairn:kind'] ?? null)}; clone a stack whose cairn:kind is tenant)`);
  }
  const templateTenant = typeof template['cairn:tenant'] === 'string' ? template['cairn:tenant'] : '';

  // Plaintext values are carried over; secure ones are only named.
  const secretKeys: string[] = [];
  const config = stripSecrets(template, '', secretKeys) as Record<string, unknown>;
  const problems: string[] = [];
  const rewritten: [string, string][] = [['cairn:tenant', opts.tenant]];
  config['cairn:tenant'] = opts.tenant;
  for (const setting of opts.set) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new TenantCloneError(EXIT.usage, `--set ${setting}: expected key=value`);
    const key = qualify(setting.slice(0, eq));
    const raw = setting.slice(eq + 1);
    if (key === 'cairn:kind' || key === 'cairn:tenant') {
      problems.push(`--set ${key}: set by the command (kind tenant, tenant from --tenant)`);
      continue;
    }
    if (secretKeys.some((s) => key === s || key.startsWith(`${s}.`) || s.startsWith(`${key}.`))) {
      problems.push(`--set ${key}: a secret of the template; set it with \`pulumi config set --secret\` after the stack exists`);
      continue;
    }
    setPath(config, key, scalar(raw));
    rewritten.push([key, raw]);
  }

  // Checks: required keys, the cloud stack reference, quotas, and no template tenant left.
  for (const key of ['cairn:cloudStack']) if (typeof config[key] !== 'string' || !config[key]) problems.push(`${key} is required (--set cloudStack=<org>/cairn/<cloud stack>)`);
  if (typeof config['cairn:cloudStack'] === 'string' && !STACK_REF.test(config['cairn:cloudStack'])) problems.push(`cairn:cloudStack "${config['cairn:cloudStack']}": expected <org>/<project>/<stack>`);
  for (const [key, v] of leaves(config, '')) {
    const parent = key.slice(0, key.lastIndexOf('.'));
    if (QUOTA_PARENTS.includes(parent) && !(typeof v === 'number' && v >= 0 && (Number.isInteger(v) || /\.(cpu|memoryGiB)$/.test(key)))) problems.push(`${key} ${JSON.stringify(v)}: expected a number ≥ 0`);
    if (templateTenant && templateTenant !== opts.tenant && typeof v === 'string' && new RegExp(`(^|[^a-z0-9])${escape(templateTenant)}([^a-z0-9]|$)`).test(v)) {
      problems.push(`${key} "${v}" still names the template tenant "${templateTenant}" (--set ${shellQuote(`${key.replace(/^cairn:/, '')}=${v.split(templateTenant).join(opts.tenant)}`)})`);
    }
  }
  if (problems.length) throw new TenantCloneError(EXIT.refused, `cannot clone ${opts.template} into ${opts.tenant}:\n  ${problems.join('\n  ')}`);

  const commands = [
    ['pulumi', 'stack', 'init', opts.tenant, '--copy-config-from', opts.template],
    ...rewritten.map(([key, value]) => ['pulumi', 'config', 'set', '--stack', opts.tenant, ...(key.includes('.') ? ['--path'] : []), key, value]),
  ];
  return { file, config, secretKeys, commands };
}

/** The new stack file: plaintext config, with the secrets it will receive named in a comment. */
export function renderStackFile(plan: TenantClonePlan, template: string): string {
  const header = [
    `# Tenant stack ${String(plan.config['cairn:tenant'])}, cloned from ${template} by \`cairn tenant-clone\`.`,
    ...(plan.secretKeys.length ? [`# Secrets of the template, re-encrypted for this stack by \`pulumi stack init --copy-config-from\`: ${plan.secretKeys.join(', ')}`] : []),
  ];
  return `${header.join('\n')}\n${toYaml({ config: plan.config })}`;
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command: writes the file, prints the commands, and with --run runs them. */
export function tenantClone(argv: string[], out: (line: string) => void): number {
  const opts = parseTenantCloneArgs(argv);
  const plan = planTenantClone(opts);
  fs.writeFileSync(plan.file, renderStackFile(plan, opts.template), { flag: 'wx' });
  out(`Wrote ${path.relative(process.cwd(), plan.file) || plan.file} (tenant ${opts.tenant}, cloned from ${opts.template}).`);
  if (plan.secretKeys.length) out(`Secrets copied (re-encrypted) by --copy-config-from: ${plan.secretKeys.join(', ')}.`);
  out(opts.run ? 'Running:' : 'Create the stack (in the project directory):');
  for (const argvOfCommand of plan.commands) out(`  ${argvOfCommand.map(shellQuote).join(' ')}`);
  if (!opts.run) return 0;
  for (const [cmd, ...args] of plan.commands) {
    const result = spawnSync(cmd, args, { cwd: opts.dir, stdio: 'inherit' });
    if (result.error) throw new TenantCloneError(EXIT.runFailed, `${cmd}: ${(result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the Pulumi CLI is not on PATH; run the commands above where it is' : result.error.message}`);
    if (result.status !== 0) throw new TenantCloneError(EXIT.runFailed, `\`${[cmd, ...args].map(shellQuote).join(' ')}\` exited with ${result.status}; ${plan.file} is written, the remaining commands are above`);
  }
  return 0;
}

function qualify(key: string): string {
  return key.includes(':') ? key : `cairn:${key}`;
}

/** `"40"` → 40, `"true"` → true; anything else stays a string (as `pulumi config set` keeps it). */
function scalar(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

function isSecure(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && 'secure' in v;
}

/** A copy without secure values (and per-stack encryption keys), naming each one left out. */
function stripSecrets(v: unknown, key: string, secretKeys: string[]): unknown {
  if (isSecure(v)) {
    secretKeys.push(key);
    return undefined;
  }
  if (Array.isArray(v)) return v.map((x, i) => stripSecrets(x, `${key}[${i}]`, secretKeys));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (!key && PER_STACK_KEYS.includes(k)) continue;
      const stripped = stripSecrets(x, key ? `${key}.${k}` : k, secretKeys);
      if (stripped !== undefined) out[k] = stripped;
    }
    return out;
  }
  return v;
}

/** Sets `cairn:a.b.c` in the config, creating the objects on the way. */
function setPath(config: Record<string, unknown>, key: string, value: unknown): void {
  const [top, ...rest] = key.split('.');
  if (!rest.length) {
    config[top] = value;
    return;
  }
  let node = (config[top] && typeof config[top] === 'object' ? config[top] : (config[top] = {})) as Record<string, unknown>;
  for (const part of rest.slice(0, -1)) node = (node[part] && typeof node[part] === 'object' ? node[part] : (node[part] = {})) as Record<string, unknown>;
  node[rest[rest.length - 1]] = value;
}

/** Every scalar of the config with its dotted key. */
function leaves(v: unknown, key: string): [string, unknown][] {
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, key ? `${key}.${k}` : k));
  return [[key, v]];
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
