/**
 * Browser stand-in for `@relink/protocol/http` (Node only: undici agents, node:http server settings). The
 * portal's webpack config aliases it for the browser build; the browser's own fetch keeps connections alive
 * and the SDK's signed requests carry fresh nonces, so plain fetch is the request layer here.
 */
export const relinkFetch: typeof fetch = (input, init) => fetch(input, init);

export function createRequester(_options: unknown = {}): typeof fetch {
  return relinkFetch;
}
