import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import type { ReactNode } from "react";
import { authOptions, type PortalUser } from "../../web/auth.ts";
import { Shell } from "../../web/shell.tsx";

export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const session = await getServerSession(authOptions());
  const user = session?.user as PortalUser | undefined;
  if (!user?.id) redirect("/signin");
  return <Shell user={user}>{children}</Shell>;
}
