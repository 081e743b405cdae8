// `groundwork audit [list] --tenant T` and `groundwork audit verify --tenant T`: the audit trail in
// <GROUNDWORK_DATA_DIR>/audit, read straight from the files (no Temporal connection needed).
import { Option } from 'commander';
import type { Command } from 'commander';
import { AUDIT_ACTIONS, AUDIT_ALL_TENANTS, AuditError, AuditLog, parseAuditTime } from '../common/audit';
import type { AuditAction, AuditEntry } from '../common/audit';
import { loadConfig } from '../common/config';
import { isTenantId } from '../common/ids';

type Print = (value: unknown, text: () => string) => void;

const auditTenant = (value: string): string => {
  if (value === '*' || isTenantId(value)) return value;
  throw new AuditError('INVALID_INPUT', "tenant: a tenant id, or '*' for the keys of all tenants.");
};

const auditTime =
  (what: string) =>
  (value: string): string => {
    if (!Number.isFinite(parseAuditTime(value)))
      throw new AuditError('INVALID_INPUT', `${what}: use an ISO time or an age such as 30m, 12h or 7d.`);
    return value;
  };

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AuditError('INVALID_INPUT', 'limit: a whole number from 1.');
  return n;
};

/** One line per entry: time, seq, action, outcome, actor, target, details. */
export function formatAuditEntry(e: AuditEntry): string {
  // Credential ids already say their kind (key:…, jwt:…); operator and system ids do not.
  const id = e.actor.id.startsWith(`${e.actor.kind}:`) ? e.actor.id : `${e.actor.kind}:${e.actor.id}`;
  const actor = `${id}${e.actor.name && e.actor.name !== e.actor.id ? ` (${e.actor.name})` : ''}`;
  const details = Object.entries(e.details ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  return [
    e.at,
    `#${e.seq}`,
    e.action,
    e.outcome,
    actor,
    ...(e.target ? [`${e.target.kind} ${e.target.id}`] : []),
    ...details,
  ].join('  ');
}

export function addAuditCommands(program: Command, print: Print): void {
  const log = (): AuditLog => AuditLog.forDataDir(loadConfig().dataDir);
  const audit = program
    .command('audit')
    .description(
      `the audit trail in <GROUNDWORK_DATA_DIR>/audit (keys for all tenants: --tenant '*', ${AUDIT_ALL_TENANTS})`,
    );
  audit
    .command('list', { isDefault: true })
    .description('who did what, to which id, when (oldest first)')
    .requiredOption('--tenant <tenant>', "tenant id, or '*' for keys valid for all tenants", auditTenant)
    .option('--since <time>', 'from this time: ISO, or an age such as 30m, 12h, 7d', auditTime('since'), '7d')
    .option('--until <time>', 'before this time: ISO, or an age', auditTime('until'))
    .addOption(new Option('--action <action>', 'only this action').choices(AUDIT_ACTIONS))
    .option('--actor <id>', 'only this actor id (key:<keyId>, jwt:…, an operator user name)')
    .option('--limit <n>', 'at most this many entries', positive)
    .action(
      async (opts: {
        tenant: string;
        since: string;
        until?: string;
        action?: AuditAction;
        actor?: string;
        limit?: number;
      }) => {
        const store = log();
        const entries: AuditEntry[] = [];
        let cursor: string | undefined;
        // Every matching entry, a page at a time, up to --limit.
        do {
          const want = opts.limit === undefined ? 1000 : Math.min(1000, opts.limit - entries.length);
          const page = await store.query(opts.tenant, {
            from: opts.since,
            to: opts.until,
            action: opts.action,
            actorId: opts.actor,
            limit: want,
            cursor,
          });
          entries.push(...page.entries);
          cursor = page.nextCursor;
        } while (cursor !== undefined && (opts.limit === undefined || entries.length < opts.limit));
        print({ entries }, () =>
          entries.length ? entries.map(formatAuditEntry).join('\n') : `no audit entries since ${opts.since}`,
        );
      },
    );
  audit
    .command('verify')
    .description("check the tenant's hash chain from its first line; exits 1 at the first broken line")
    .requiredOption('--tenant <tenant>', "tenant id, or '*' for keys valid for all tenants", auditTenant)
    .action(async (opts: { tenant: string }) => {
      const result = await log().verify(opts.tenant);
      print(result, () =>
        result.ok
          ? `audit trail of ${opts.tenant}: ${result.entries} entries in ${result.files} files, chain intact (head ${result.head})`
          : `audit trail of ${opts.tenant}: broken at ${result.broken.file} line ${result.broken.line}` +
            `${result.broken.seq !== undefined ? ` (seq ${result.broken.seq})` : ''}: ${result.broken.reason}; ` +
            `${result.entries} entries before it are intact`,
      );
      if (!result.ok) process.exitCode = 1;
    });
}
