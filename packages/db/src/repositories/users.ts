/** People who use the portal and their role grants. The audit log names them only by pseudonym. */
import type { Selectable } from "kysely";
import { ConflictError, NotFoundError, SQLSTATE, sqlState } from "../errors.ts";
import type { Db, Role, RoleGrantTable, UserStatus, UserTable } from "../schema.ts";

export const NETWORK_ROLES: readonly Role[] = ["network_admin", "network_dpo"];

export interface User {
  id: string;
  memberId: string | null;
  email: string;
  displayName: string;
  auditPseudonym: Uint8Array;
  status: UserStatus;
  createdAt: Date;
  lastLoginAt: Date | null;
}

export interface RoleGrant {
  id: string;
  userId: string;
  role: Role;
  memberId: string | null;
  grantedBy: string | null;
  grantedAt: Date;
  revokedAt: Date | null;
}

const userColumns = [
  "id",
  "member_id",
  "email",
  "display_name",
  "audit_pseudonym",
  "status",
  "created_at",
  "last_login_at",
] as const;
const grantColumns = [
  "id",
  "user_id",
  "role",
  "member_id",
  "granted_by",
  "granted_at",
  "revoked_at",
] as const;

function toUser(row: Selectable<UserTable>): User {
  return {
    id: row.id,
    memberId: row.member_id,
    email: row.email,
    displayName: row.display_name,
    auditPseudonym: row.audit_pseudonym,
    status: row.status,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
  };
}

function toGrant(row: Selectable<RoleGrantTable>): RoleGrant {
  return {
    id: row.id,
    userId: row.user_id,
    role: row.role,
    memberId: row.member_id,
    grantedBy: row.granted_by,
    grantedAt: row.granted_at,
    revokedAt: row.revoked_at,
  };
}

/** `auditPseudonym` is 32 random bytes chosen by the caller (randomness is a dependency, not a global). */
export async function insertUser(
  db: Db,
  input: { memberId: string | null; email: string; displayName: string; auditPseudonym: Uint8Array },
): Promise<User> {
  const email = input.email.trim().toLowerCase();
  try {
    const row = await db
      .insertInto("user")
      .values({
        member_id: input.memberId,
        email,
        display_name: input.displayName,
        audit_pseudonym: input.auditPseudonym,
      })
      .returning(userColumns)
      .executeTakeFirstOrThrow();
    return toUser(row);
  } catch (error) {
    const state = sqlState(error);
    if (state === SQLSTATE.uniqueViolation)
      throw new ConflictError("user", "email", `'${email}' is already a user`);
    if (state === SQLSTATE.foreignKeyViolation) throw new NotFoundError("member", String(input.memberId));
    throw error;
  }
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await db
    .selectFrom("user")
    .select(userColumns)
    .where("email", "=", email.trim().toLowerCase())
    .executeTakeFirst();
  return row && toUser(row);
}

export async function grantRole(
  db: Db,
  input: { userId: string; role: Role; memberId: string | null; grantedBy: string | null },
): Promise<RoleGrant> {
  const networkRole = NETWORK_ROLES.includes(input.role);
  if (networkRole !== (input.memberId === null)) {
    throw new ConflictError(
      "role_grant",
      "member_id",
      networkRole
        ? `${input.role} is network-wide and takes no member`
        : `${input.role} must be scoped to a member`,
    );
  }
  try {
    const row = await db
      .insertInto("role_grant")
      .values({
        user_id: input.userId,
        role: input.role,
        member_id: input.memberId,
        granted_by: input.grantedBy,
      })
      .returning(grantColumns)
      .executeTakeFirstOrThrow();
    return toGrant(row);
  } catch (error) {
    const state = sqlState(error);
    if (state === SQLSTATE.uniqueViolation) throw new ConflictError("role_grant", "role", "already granted");
    if (state === SQLSTATE.foreignKeyViolation) throw new NotFoundError("user or member", input.userId);
    throw error;
  }
}

export async function activeRoles(db: Db, userId: string): Promise<RoleGrant[]> {
  const rows = await db
    .selectFrom("role_grant")
    .select(grantColumns)
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .orderBy("granted_at")
    .execute();
  return rows.map(toGrant);
}

export async function revokeRole(db: Db, grantId: string, at: Date): Promise<RoleGrant> {
  const row = await db
    .updateTable("role_grant")
    .set({ revoked_at: at })
    .where("id", "=", grantId)
    .where("revoked_at", "is", null)
    .returning(grantColumns)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("active role_grant", grantId);
  return toGrant(row);
}
