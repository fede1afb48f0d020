/**
 * FROZEN. A version number for the member directory key holders read (ADR 0038): one row, incremented by a
 * trigger whenever a `member` or `member_key` row is inserted, updated or deleted, so every writer (a key
 * rotation, a suspension, the sanction ladder, a psql session) moves it without remembering to.
 *
 * The triggers are deferred constraint triggers: the increment runs at commit, after every other statement of
 * the transaction. So (1) the version a reader sees never runs ahead of the committed directory (a sequence
 * would: its value is visible before the transaction commits, and a holder refetching on it could read the
 * old directory under the new number), and (2) the one row lock is taken last and held only for the commit,
 * so it cannot be part of a deadlock with the row locks or the audit sequencer's lock taken earlier.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table member_directory_version (
      id boolean primary key default true check (id),
      version int8 not null check (version >= 0)
    )`.execute(db);
  await sql`insert into member_directory_version (id, version) values (true, 0)`.execute(db);
  await sql`
    create function member_directory_changed() returns trigger language plpgsql as $$
    begin
      update member_directory_version set version = version + 1 where id;
      return null;
    end
    $$`.execute(db);
  for (const table of ["member", "member_key"]) {
    await sql`
      create constraint trigger ${sql.raw(`${table}_directory_changed`)}
        after insert or update or delete on ${sql.table(table)}
        deferrable initially deferred
        for each row execute function member_directory_changed()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger member_key_directory_changed on member_key`.execute(db);
  await sql`drop trigger member_directory_changed on member`.execute(db);
  await sql`drop function member_directory_changed()`.execute(db);
  await sql`drop table member_directory_version`.execute(db);
}
