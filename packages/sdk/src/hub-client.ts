/** A typed tRPC client for the hub whose every request is signed. */
import type { AppRouter } from "@relink/api";
import type { WireError } from "@relink/protocol";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { hubAudienceOf, type RequestSigner, signedFetch } from "./signing.ts";

export type HubClient = ReturnType<typeof createTRPCClient<AppRouter>>;

export function createHubClient(options: {
  url: string;
  signer: RequestSigner;
  fetch?: typeof fetch;
  /** The hub's network id, when known; otherwise read once from its public network.info. */
  networkId?: string;
}): HubClient {
  return createTRPCClient<AppRouter>({
    links: [
      // httpLink (not batching): one signed request per call keeps signatures and audit leaves 1:1.
      httpLink({
        url: `${options.url.replace(/\/$/, "")}/trpc`,
        fetch: signedFetch(options.signer, {
          ...(options.fetch ? { fetch: options.fetch } : {}),
          audience: hubAudienceOf(options.url, {
            ...(options.networkId ? { networkId: options.networkId } : {}),
            ...(options.fetch ? { fetch: options.fetch } : {}),
          }),
        }),
      }),
    ],
  });
}

/** The hub's typed error behind a tRPC client error, when there is one. */
export function wireError(error: unknown): WireError | undefined {
  if (error instanceof TRPCClientError) {
    return (error.data as { relink?: WireError } | undefined)?.relink;
  }
  return undefined;
}
