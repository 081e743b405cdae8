// `groundwork keys create|list|revoke`: API keys of the HTTP API, in the key store of GROUNDWORK_DATA_DIR. The CLI
// itself talks to Temporal directly as an operator and needs no key.
import { Option } from 'commander';
import type { Command } from 'commander';
import { operatorActor } from '../common/audit';
import { loadConfig } from '../common/config';
import { KeyStore } from './auth/key-store';
import type { ApiKeyInfo } from './auth/key-store';
import { ALL_TENANTS, ROLES } from './auth/roles';
import type { Role } from './auth/roles';

type Print = (value: unknown, text: () => string) => void;

/** A fresh admin key for all tenants, for `dev` and the demo to print. */
export async function createLocalAdminKey(dataDir: string): Promise<{ key: string; info: ApiKeyInfo }> {
  return KeyStore.forDataDir(dataDir).create(
    { tenant: ALL_TENANTS, role: 'admin', name: 'local-admin' },
    operatorActor(),
  );
}

function describe(k: ApiKeyInfo): string {
  return [
    k.keyId,
    `tenant ${k.tenant}`,
    `role ${k.role}`,
    ...(k.name ? [`name ${k.name}`] : []),
    `created ${k.createdAt}`,
    ...(k.revokedAt ? [`revoked ${k.revokedAt}`] : []),
  ].join('  ');
}

export function addKeyCommands(program: Command, print: Print): void {
  const store = (): KeyStore => KeyStore.forDataDir(loadConfig().dataDir);
  const keys = program
    .command('keys')
    .description('API keys of the HTTP API (stored hashed in <GROUNDWORK_DATA_DIR>/keys)');
  keys
    .command('create')
    .description('create a key for a tenant and role; it is printed once and cannot be shown again')
    .requiredOption('--tenant <tenant>', `tenant id, or '${ALL_TENANTS}' for all tenants (admin keys only)`)
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .option('--name <name>', 'who holds it; recorded as the reviewer of its review decisions')
    .action(async (opts: { tenant: string; role: Role; name?: string }) => {
      const { key, info } = await store().create(
        { tenant: opts.tenant, role: opts.role, name: opts.name },
        operatorActor(),
      );
      print({ ...info, key }, () =>
        [`${key}`, `  ${describe(info)}`, '  Store the key now: it is not shown again.'].join('\n'),
      );
    });
  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--tenant <tenant>', `only this tenant's keys ('${ALL_TENANTS}': the all-tenant keys)`)
    .option('--revoked', 'include revoked keys')
    .action(async (opts: { tenant?: string; revoked?: boolean }) => {
      const list = await store().list({ tenant: opts.tenant, includeRevoked: opts.revoked });
      print(list, () => (list.length ? list.map(describe).join('\n') : 'no keys'));
    });
  keys
    .command('revoke')
    .description('revoke a key at once, for every process sharing the key store')
    .argument('<keyId>', 'the id of the key (the part after gw_, or from `keys list`)')
    .action(async (keyId: string) => {
      const info = await store().revoke(keyId, operatorActor());
      print(info, () => `revoked ${describe(info)}`);
    });
}
