// The role settings of the distributed mode: each split role refuses to start without the
// shared secret and its peer's address, and the Kubernetes sandboxes need the executor role.
import { ConfigError, loadConfig } from '../../../services/core/config';

const TOKEN = 'a-long-enough-internal-token';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({}, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

test('the default is the one-process platform with bubblewrap sandboxes', () => {
  const c = loadConfig({}, {});
  expect([c.role, c.sandbox.backend, c.internal.token]).toEqual(['all', 'bwrap', undefined]);
});

test('the api role needs the token and the executor URL', () => {
  expect(problems({ CAIRN_ROLE: 'api' })).toEqual([expect.stringContaining('CAIRN_INTERNAL_TOKEN is required when CAIRN_ROLE=api'), 'CAIRN_EXECUTOR_URL is required when CAIRN_ROLE=api']);
  expect(problems({ CAIRN_ROLE: 'api', CAIRN_INTERNAL_TOKEN: 'short', CAIRN_EXECUTOR_URL: 'http://executor:8080/x' })).toEqual([
    'CAIRN_INTERNAL_TOKEN: expected at least 16 characters',
    'CAIRN_EXECUTOR_URL=http://executor:8080/x: expected http://host:port (cluster-internal, no path)',
  ]);
  expect(loadConfig({}, { CAIRN_ROLE: 'api', CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_EXECUTOR_URL: 'http://executor:8080/' }).internal.executorUrl).toBe('http://executor:8080');
});

test('the executor role needs the api URL; kubernetes sandboxes need the executor role and both images', () => {
  expect(problems({ CAIRN_ROLE: 'executor', CAIRN_INTERNAL_TOKEN: TOKEN })).toEqual(['CAIRN_API_URL is required when CAIRN_ROLE=executor']);
  expect(problems({ CAIRN_ROLE: 'nope' })).toEqual(['CAIRN_ROLE=nope: expected all, api or executor']);
  expect(problems({ CAIRN_SANDBOX: 'kubernetes', CAIRN_K8S_IMAGE_PYTHON3: 'p', CAIRN_K8S_IMAGE_NODEJS: 'n' })).toEqual([expect.stringContaining('CAIRN_SANDBOX=kubernetes needs CAIRN_ROLE=executor')]);
  const env = { CAIRN_ROLE: 'executor', CAIRN_INTERNAL_TOKEN: TOKEN, CAIRN_API_URL: 'http://api:8080', CAIRN_SANDBOX: 'kubernetes' };
  expect(problems(env)).toEqual([expect.stringContaining('CAIRN_K8S_IMAGE_PYTHON3 is required'), expect.stringContaining('CAIRN_K8S_IMAGE_NODEJS is required')]);
  const c = loadConfig({}, { ...env, CAIRN_K8S_IMAGE_PYTHON3: 'r/py:1', CAIRN_K8S_IMAGE_NODEJS: 'r/node:1' });
  expect(c.sandbox).toEqual({ backend: 'kubernetes', namespace: 'cairn-runtimes', apiUrl: undefined, images: { python3: 'r/py:1', nodejs: 'r/node:1' }, imageRuntimeDir: '/opt/cairn/functions-runtime', controlPort: 9090, podStartSeconds: 120 });
});
