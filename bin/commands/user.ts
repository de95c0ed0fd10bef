import { Command, Option } from 'commander';
import type { z } from 'zod';
import { generatePassword } from '../../lib/auth/bootstrap.ts';
import { hashPassword } from '../../lib/auth/password.ts';
import { ROLES } from '../../lib/auth/permissions.ts';
import { revokeAllForUser } from '../../lib/auth/refresh-tokens.ts';
import { ConflictError } from '../../lib/errors.ts';
import { createUser, findUserByEmail, listUsers, setPasswordHash } from '../../lib/users.ts';
import { EmailSchema, NameSchema, PasswordSchema } from '../../schema/api/common.ts';
import type { Role } from '../../schema/database.ts';
import { cliConfig, withDatabase } from './context.ts';
import { isInteractive, promptHidden } from './prompt.ts';
import { printTable } from './table.ts';

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) fail(`${what}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  return result.data;
}

/** --password, else a hidden prompt (twice) on a terminal, else a generated one that is printed. */
async function choosePassword(given: string | undefined): Promise<{ password: string; generated: boolean }> {
  if (given !== undefined) return { password: valid(PasswordSchema, given, '--password'), generated: false };
  if (isInteractive()) {
    const first = await promptHidden('Password (empty to generate one): ');
    if (first === '') return { password: generatePassword(), generated: true };
    valid(PasswordSchema, first, 'password');
    if ((await promptHidden('Repeat password: ')) !== first) fail('the passwords did not match');
    return { password: first, generated: false };
  }
  return { password: generatePassword(), generated: true };
}

export function userCommand(): Command {
  const user = new Command('user').description('Create and list users, reset passwords');

  user
    .command('create')
    .description('Create a user (prompts for a password on a terminal; generates and prints one otherwise)')
    .requiredOption('--email <email>', 'login email')
    .addOption(new Option('--role <role>', 'role').choices(ROLES).makeOptionMandatory())
    .option('--name <name>', 'display name (defaults to the part of the email before @)')
    .option('--password <password>', 'password (avoid: it lands in your shell history)')
    .action(async (options: { email: string; role: Role; name?: string; password?: string }) => {
      const email = valid(EmailSchema, options.email, '--email');
      const name = valid(NameSchema, options.name ?? email.split('@')[0], '--name');
      const config = cliConfig();
      const { password, generated } = await choosePassword(options.password);
      await withDatabase(config, async (db) => {
        try {
          const created = await createUser(db, {
            email,
            name,
            role: options.role,
            passwordHash: await hashPassword(password, config.auth.password),
          });
          console.log(`Created ${created.role} ${created.email} (id ${created.id})`);
          if (generated) console.log(`Password: ${password}`);
        } catch (error) {
          if (error instanceof ConflictError) fail(error.message);
          throw error;
        }
      });
    });

  user
    .command('list')
    .description('List users, newest first')
    .option('--json', 'print JSON lines')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(cliConfig(), async (db) => {
        let cursor: string | undefined;
        const rows: string[][] = [['EMAIL', 'NAME', 'ROLE', 'ACTIVE', 'LAST LOGIN']];
        do {
          const page = await listUsers(db, { limit: 200, cursor });
          for (const u of page.items) {
            if (options.json) console.log(JSON.stringify(u));
            else rows.push([u.email, u.name, u.role, u.isActive ? 'yes' : 'no', u.lastLoginAt ?? 'never']);
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (!options.json) printTable(rows);
      });
    });

  user
    .command('set-password')
    .description("Set a user's password and end all their sessions")
    .requiredOption('--email <email>', 'login email')
    .option('--password <password>', 'new password (avoid: it lands in your shell history)')
    .action(async (options: { email: string; password?: string }) => {
      const email = valid(EmailSchema, options.email, '--email');
      const config = cliConfig();
      await withDatabase(config, async (db) => {
        const found = await findUserByEmail(db, email);
        if (!found) fail(`no user with email ${email}`);
        const { password, generated } = await choosePassword(options.password);
        await setPasswordHash(db, found.id, await hashPassword(password, config.auth.password));
        await revokeAllForUser(db, found.id);
        console.log(`Password set for ${found.email}; their sessions were ended.`);
        if (generated) console.log(`Password: ${password}`);
      });
    });

  return user;
}
