import { rmSync } from 'node:fs';
import { SERVER_FILE } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__GROUNDWORK_DEV_SERVER__?.stop();
  rmSync(SERVER_FILE, { force: true });
}
