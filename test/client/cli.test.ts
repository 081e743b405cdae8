// The command tree and the checks that run while parsing, before anything connects to Temporal.
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { buildCli } from '../../client/cli';

function walk(command: Command, prefix: string[] = []): [string[], Command][] {
  return command.commands.flatMap((c) => [
    [[...prefix, c.name()], c] as [string[], Command],
    ...walk(c, [...prefix, c.name()]),
  ]);
}

test('every command and subcommand says what it does', () => {
  const commands = walk(buildCli());
  expect(commands.map(([p]) => p.join(' '))).toEqual(
    expect.arrayContaining([
      'dev',
      'worker',
      'http',
      'ingest',
      'ask',
      'review list',
      'review show',
      'review approve',
      'review edit',
      'review reject',
      'eval run',
      'eval schedule',
      'eval unschedule',
    ]),
  );
  for (const [p, c] of commands)
    expect([p.join(' '), c.description()]).toEqual([p.join(' '), expect.stringMatching(/\w/)]);
});

test('a tenant id that is not safe fails while parsing, with INVALID_INPUT', async () => {
  await expect(
    buildCli().parseAsync(['node', 'groundwork', 'ask', '--tenant', 'bad tenant!', 'What?']),
  ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  await expect(
    buildCli().parseAsync(['node', 'groundwork', 'review', 'approve', '--tenant', "a'b", '--reviewer', 'r', 't']),
  ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
});

test('bad numbers fail while parsing', async () => {
  await expect(
    buildCli().parseAsync(['node', 'groundwork', 'ingest', '--tenant', 'acme', '--concurrency', '0', 'x']),
  ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  await expect(buildCli().parseAsync(['node', 'groundwork', 'http', '--port', 'eighty'])).rejects.toMatchObject({
    code: 'INVALID_INPUT',
  });
});

test('an unknown command is a usage error with a non-zero exit code', async () => {
  const program = buildCli().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const err: unknown = await program.parseAsync(['node', 'groundwork', 'frobnicate']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CommanderError);
  expect((err as CommanderError).exitCode).not.toBe(0);
});

test('review edit takes --cite more than once and still sees the task id after it', async () => {
  const program = buildCli();
  const edit = program.commands.find((c) => c.name() === 'review')!.commands.find((c) => c.name() === 'edit')!;
  let seen: { taskId?: string; cite?: string[] } = {};
  edit.action((taskId: string, opts: { cite: string[] }) => {
    seen = { taskId, cite: opts.cite };
  });
  const args = [
    '--tenant',
    'acme',
    '--reviewer',
    'dana',
    '--answer',
    'x',
    '--cite',
    'c1',
    '--cite',
    'c2',
    'review:acme:t',
  ];
  await program.parseAsync(['node', 'groundwork', 'review', 'edit', ...args]);
  expect(seen).toEqual({ taskId: 'review:acme:t', cite: ['c1', 'c2'] });
});
