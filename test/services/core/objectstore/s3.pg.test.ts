// The s3 backend's contract against a real PostgreSQL index (CAIRN_TEST_PG_URL) and s3rver.
import { openTestPostgres } from '../../../helpers/postgres';
import { startS3Emulator, type S3Emulator } from '../../../helpers/s3-emulator';
import { objectStoreSuite } from './objectstore.suite';

describe('object store on s3 with PostgreSQL (S3 emulator)', () => {
  let emulator: S3Emulator;
  beforeAll(async () => {
    emulator = await startS3Emulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  objectStoreSuite(openTestPostgres, { env: () => emulator.env, stored: () => emulator.keys() });
});
