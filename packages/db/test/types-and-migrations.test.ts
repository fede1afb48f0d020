import { sql } from "kysely";
import { expect, it } from "vitest";
import { MigrationError, migrateToLatest, serializeBytea } from "../src/client.ts";
import { migrations } from "../src/migrations/index.ts";
import { describeEachBackend } from "../src/testing.ts";

it("serializes bytea as PostgreSQL's hex text and refuses anything that is not bytes", () => {
  expect(serializeBytea(Uint8Array.of(0, 255, 16))).toBe("\\x00ff10");
  expect(serializeBytea(Uint8Array.of(9, 1, 2, 3).subarray(1))).toBe("\\x010203");
  expect(() => serializeBytea("00ff")).toThrow(/bytea/);
});

describeEachBackend("type parsing", ({ db }) => {
  it("int8, numeric, bytea and timestamptz reach code as bigint, string, Uint8Array and Date", async () => {
    const { rows } = await sql<{
      big: bigint;
      num: string;
      bytes: Uint8Array;
      at: Date;
      nul: bigint | null;
      day: string;
    }>`select '2026-02-28'::date as day, 9007199254740993::int8 as big, 12345678901234567890.123456789::numeric as num,
        '\\x00ff10'::bytea as bytes, '2026-11-26T07:00:00.123Z'::timestamptz as at, null::int8 as nul`.execute(
      db(),
    );
    const row = rows[0]!;
    expect(row.big).toBe(9007199254740993n);
    expect(row.num).toBe("12345678901234567890.123456789");
    expect(row.bytes).toBeInstanceOf(Uint8Array);
    // A plain Uint8Array on both dialects, not a Node Buffer.
    expect(Object.getPrototypeOf(row.bytes)).toBe(Uint8Array.prototype);
    expect([...row.bytes]).toEqual([0, 255, 16]);
    expect(row.at).toBeInstanceOf(Date);
    expect(row.at.toISOString()).toBe("2026-11-26T07:00:00.123Z");
    expect(row.nul).toBeNull();
    expect(row.day).toBe("2026-02-28");
  });

  it("round-trips bytea parameters byte for byte", async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const { rows } = await sql<{ b: Uint8Array }>`select ${all}::bytea as b`.execute(db());
    expect([...rows[0]!.b]).toEqual([...all]);
  });

  it("round-trips a large bytea parameter given as a view into a bigger buffer, and an empty one", async () => {
    // An HE ciphertext's size, taken from the middle of a larger buffer (byteOffset ≠ 0): the serializer
    // must encode exactly the view's bytes.
    const backing = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24);
    const view = backing.subarray(1_234, 1_234 + 65_700);
    const { rows } = await sql<{ b: Uint8Array; n: number; e: Uint8Array }>`
      select ${view}::bytea as b, length(${view}::bytea) as n, ${new Uint8Array(0)}::bytea as e`.execute(
      db(),
    );
    expect(Number(rows[0]!.n)).toBe(65_700);
    expect(Buffer.compare(Buffer.from(rows[0]!.b), Buffer.from(view))).toBe(0);
    expect(rows[0]!.e.length).toBe(0);
  });

  it("has applied every migration, in order", async () => {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      db(),
    );
    expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations));
  });
});

describeEachBackend(
  "a broken migration",
  ({ db }) => {
    it("fails with MigrationError naming the migration, and leaves nothing of it behind", async () => {
      const broken = {
        ...migrations,
        "29991231T0000_broken": {
          up: async (k: Parameters<typeof migrateToLatest>[0]) => {
            await sql`create table half_done (id int)`.execute(k);
            await sql`create table broken (id int references does_not_exist (id))`.execute(k);
          },
        },
      };
      const error = await migrateToLatest(db(), { getMigrations: async () => broken }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migrationName).toBe("29991231T0000_broken");
      // Migrations run in one transaction on PostgreSQL: the half-created table is rolled back.
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from information_schema.tables where table_name = 'half_done'`.execute(
        db(),
      );
      expect(rows[0]!.n).toBe(0);
      // The good migrations are still there.
      const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(db());
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations));
    });
  },
  { migrate: true },
);
