/**
 * `relink witness serve`: a member witness as a process (c2sp.org/tlog-witness). `POST /add-checkpoint`
 * cosigns a checkpoint only after a consistency proof from the last one it cosigned; its state (latest
 * checkpoint per log, fork evidence) is persisted before it answers. `relink witness keygen` makes a key.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  MAX_REQUEST_BYTES,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  verifierOf,
  Witness,
  type WitnessState,
} from "@relink/tlog";
import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { nonNegativeInt, writeFileAtomic } from "./options.ts";

export function register(program: Command): void {
  const witness = program.command("witness").description("run a member witness that cosigns the hub's log");
  witness
    .command("keygen")
    .description("create a witness cosignature key (type 0x04) and print its verifier key")
    .requiredOption("--name <name>", "witness key name, e.g. acme-bank.example/witness")
    .requiredOption("--out <file>", "where to write the private key (mode 0600; never overwritten)")
    .option("--json", "print the verifier key as JSON")
    .action((opts: { name: string; out: string; json?: boolean }) => {
      if (existsSync(opts.out)) throw new UserError(`${opts.out} exists: refusing to overwrite a key file`);
      const key = generateSignerKey(
        opts.name,
        (n) => crypto.getRandomValues(new Uint8Array(n)),
        SIG_TYPE_COSIGNATURE_V1,
      );
      writeFileSync(opts.out, `${formatSignerKey(key)}\n`, { mode: 0o600, flag: "wx" });
      const vkey = formatVerifierKey(verifierOf(key));
      console.log(opts.json ? JSON.stringify({ verifierKey: vkey, file: opts.out }) : vkey);
    });

  witness
    .command("serve")
    .description("serve POST /add-checkpoint for one log")
    .requiredOption("--key <file>", "witness private key file (from `relink witness keygen`)")
    .requiredOption("--log-key <vkey>", "the log's verifier key; its name is the log's origin")
    .requiredOption("--state <file>", "state file: latest cosigned checkpoint and fork evidence")
    .option("--port <n>", "port (0 = any free port)", nonNegativeInt, 7410)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .action(async (opts: { key: string; logKey: string; state: string; port: number; host: string }) => {
      const key = parseSignerKey(readFileSync(opts.key, "utf8"));
      const logKey = parseVerifierKey(opts.logKey);
      const state = existsSync(opts.state)
        ? (JSON.parse(readFileSync(opts.state, "utf8")) as WitnessState)
        : undefined;
      const w = new Witness({
        key,
        logs: [{ origin: logKey.name, key: logKey }],
        now: () => BigInt(Math.floor(Date.now() / 1000)),
        ...(state ? { state } : {}),
      });
      const server = createServer(async (req, res) => {
        const path = new URL(req.url ?? "/", "http://witness.invalid").pathname;
        if (req.method !== "POST" || path !== "/add-checkpoint") {
          res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > MAX_REQUEST_BYTES) {
            res.writeHead(413, { "content-type": "text/plain; charset=utf-8" }).end("request too large\n");
            return;
          }
          chunks.push(chunk as Buffer);
        }
        const before = JSON.stringify(w.state);
        // Synchronous check-and-update, then persist before answering (tlog-witness requires both).
        const result = w.addCheckpoint(Buffer.concat(chunks).toString("utf8"));
        const after = JSON.stringify(w.state);
        if (after !== before) writeFileAtomic(opts.state, `${JSON.stringify(w.state, null, 2)}\n`);
        if (result.status !== 200) console.error(`add-checkpoint refused: ${result.status} ${result.reason}`);
        res.writeHead(result.status, { "content-type": result.contentType }).end(result.body);
      });
      await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
      const { port } = server.address() as AddressInfo;
      console.log(
        `witness listening on http://${opts.host}:${port} (key ${formatVerifierKey(verifierOf(key))})`,
      );
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.on(signal, () => server.close(() => process.exit(0)));
      }
    });
}
