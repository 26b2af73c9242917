// An openrc file, as DevStack writes one: `source` it and both the `openstack` CLI (keystoneauth)
// and the `swift` CLI (python-keystoneclient, Keystone v3) authenticate against this deployment.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

export interface OpenrcOptions {
  /** The platform's base URL (`http://host:port`); `/identity/v3` is appended unless already there. */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  region: string;
}

/** The Keystone v3 URL for a platform base URL (or the v3 URL itself). */
export function keystoneAuthUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return /\/identity\/v3$/.test(base) ? base : `${base}/identity/v3`;
}

/** The file's text; every value single-quoted for the shell. */
export function openrcText(opts: OpenrcOptions): string {
  const vars: [string, string][] = [
    ['OS_AUTH_URL', keystoneAuthUrl(opts.authUrl)],
    ['OS_AUTH_TYPE', 'password'],
    ['OS_IDENTITY_API_VERSION', '3'],
    ['OS_USERNAME', opts.username],
    ['OS_PASSWORD', opts.password],
    ['OS_PROJECT_NAME', opts.projectName],
    ['OS_USER_DOMAIN_NAME', 'Default'],
    ['OS_PROJECT_DOMAIN_NAME', 'Default'],
    ['OS_REGION_NAME', opts.region],
    ['OS_INTERFACE', 'public'],
  ];
  const lines = vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  return `# Cairn credentials for ${opts.username} in project ${opts.projectName}. Usage: source this file.\n${lines.join('\n')}\n`;
}

/**
 * Writes the openrc with mode 0600 (it holds a password). The text goes to a new private file
 * that then replaces `file`, so the password is never readable through an older, wider mode.
 */
export function writeOpenrc(file: string, opts: OpenrcOptions): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, openrcText(opts), { mode: 0o600, flag: 'wx' });
    fs.chmodSync(tmp, 0o600); // the umask may only remove bits, but be explicit
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
