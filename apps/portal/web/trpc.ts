"use client";
/** Typed tRPC client for the portal's session procedures (react-query); the router type is the hub's. */
import type { AppRouter } from "@relink/api";
import { createTRPCContext } from "@trpc/tanstack-react-query";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
