/** The export pack's verifier, imported as its text (next.config.ts: webpack asset/source). */
declare module "@relink/sdk/verify-export.mjs" {
  const text: string;
  export default text;
}
