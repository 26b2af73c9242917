import { ConfigError, loadConfig } from '../../../services/core/config';

test('defaults match Qinling where it had one', () => {
  const c = loadConfig({});
  expect(c.port).toBe(8080);
  expect(c.limits.timeout).toEqual({ default: 5, min: 1, max: 300 });
  expect(c.limits.cpu).toEqual({ default: 100, min: 100, max: 300 });
  expect(c.limits.memorySize).toEqual({ default: 33554432, min: 33554432, max: 134217728 });
  expect(c.databaseUrl).toBeUndefined();
  expect(c.dataDir.endsWith('.cairn')).toBe(true);
});

test('every problem is reported at once, naming the variable', () => {
  let err: unknown;
  try {
    loadConfig({ CAIRN_PORT: 'eighty', CAIRN_DATABASE_URL: 'mysql://x', CAIRN_POOL_SIZE: '-1' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const problems = (err as ConfigError).problems.join('\n');
  expect(problems).toContain('CAIRN_PORT=eighty');
  expect(problems).toContain('CAIRN_DATABASE_URL=mysql://x');
  expect(problems).toContain('CAIRN_POOL_SIZE=-1');
});

test('overrides win over the environment', () => {
  expect(loadConfig({ CAIRN_PORT: '9000' }, { CAIRN_PORT: '0' }).port).toBe(0);
});
