import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keystoneAuthUrl, writeOpenrc } from '../../../../services/core/identity/openrc';
import { generatePassword, hashPassword, verifyPassword } from '../../../../services/core/identity/passwords';

test('openrc: mode 0600, sourceable, every OS_* variable the CLIs read, awkward passwords survive', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-openrc-'));
  try {
    const file = path.join(dir, 'openrc');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const password = `it's a "pa$$" \`word\` \\ ${generatePassword()}`;
    writeOpenrc(file, { authUrl: 'http://127.0.0.1:8080', username: 'demo', password, projectName: 'demo', region: 'RegionOne' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['openrc']);
    const env = execFileSync('/bin/bash', ['-c', `source ${file} && env`], { env: { PATH: process.env.PATH, HOME: dir } }).toString();
    const vars = Object.fromEntries(env.split('\n').filter((l) => l.startsWith('OS_')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(vars).toEqual({
      OS_AUTH_URL: 'http://127.0.0.1:8080/identity/v3',
      OS_AUTH_TYPE: 'password',
      OS_IDENTITY_API_VERSION: '3',
      OS_USERNAME: 'demo',
      OS_PASSWORD: password,
      OS_PROJECT_NAME: 'demo',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
      OS_INTERFACE: 'public',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the auth URL may be given as the base or as the v3 URL', () => {
  expect(keystoneAuthUrl('http://h:1/')).toBe('http://h:1/identity/v3');
  expect(keystoneAuthUrl('http://h:1/identity/v3')).toBe('http://h:1/identity/v3');
});

test('passwords: salted scrypt, verified in constant time, malformed hashes never match', async () => {
  const a = await hashPassword('secret');
  const b = await hashPassword('secret');
  expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
  expect(a).not.toBe(b);
  expect(await verifyPassword('secret', a)).toBe(true);
  expect(await verifyPassword('Secret', a)).toBe(false);
  for (const bad of ['', 'scrypt$1$2', 'bcrypt$x$y$z$a$b', 'scrypt$99999999$8$1$AAAA$AAAA', a.replace(/\$[^$]+$/, '$AAAA')]) {
    expect(await verifyPassword('secret', bad)).toBe(false);
  }
});

test('generated passwords are safe on a command line: letters and digits only, 24 of them', () => {
  for (let i = 0; i < 500; i++) expect(generatePassword()).toMatch(/^[A-Za-z0-9]{24}$/);
});
