/**
 * Settings that would otherwise be repeated on every command. Precedence, highest first:
 *   1. the flag (`--home`, `--hub`, `--receipts`, `--lang`)
 *   2. the environment (`RELINK_HOME`, `RELINK_HUB`, `RELINK_RECEIPTS`, `RELINK_LANG`)
 *   3. the config file: `--config FILE`, else `RELINK_CONFIG`, else `$XDG_CONFIG_HOME/relink/config.json`
 *      (`~/.config/relink/config.json`), if it exists — JSON `{ "home", "hub", "receipts", "lang" }`
 *   4. the default (home `.relink/member`; hub: the one recorded by `relink init` in member.json)
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Lang } from "@relink/sdk";
import { EXIT, UserError } from "./errors.ts";

export const DEFAULT_HOME = ".relink/member";

export interface SettingFlags {
  home?: string;
  hub?: string;
  receipts?: string;
  lang?: string;
  config?: string;
}

export interface Settings {
  home: string;
  hub: string | undefined;
  receipts: string | undefined;
  lang: Lang;
}

const KEYS = ["home", "hub", "receipts", "lang"] as const;

export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  if (env["RELINK_CONFIG"]) return env["RELINK_CONFIG"];
  const base = env["XDG_CONFIG_HOME"] || join(env["HOME"] || homedir(), ".config");
  const path = join(base, "relink", "config.json");
  return existsSync(path) ? path : undefined;
}

function readConfig(
  path: string | undefined,
  explicit: boolean,
): Partial<Record<(typeof KEYS)[number], string>> {
  if (!path) return {};
  if (!existsSync(path)) {
    if (explicit) throw new UserError(`config file ${path}: no such file`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UserError(`config file ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new UserError(`config file ${path}: expected a JSON object`);
  const out: Partial<Record<(typeof KEYS)[number], string>> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!(KEYS as readonly string[]).includes(k))
      throw new UserError(`config file ${path}: unknown setting "${k}" (known: ${KEYS.join(", ")})`);
    if (typeof v !== "string") throw new UserError(`config file ${path}: "${k}" must be a string`);
    out[k as (typeof KEYS)[number]] = v;
  }
  return out;
}

export function resolveSettings(flags: SettingFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const explicit = Boolean(flags.config || env["RELINK_CONFIG"]);
  const config = readConfig(configPath(flags.config, env), explicit);
  const pick = (k: (typeof KEYS)[number], envName: string) =>
    flags[k] ?? (env[envName] || undefined) ?? config[k];
  const lang = pick("lang", "RELINK_LANG") ?? "en";
  if (lang !== "en" && lang !== "zh")
    throw new UserError(`--lang: expected en or zh, got "${lang}"`, EXIT.usage);
  return {
    home: pick("home", "RELINK_HOME") ?? DEFAULT_HOME,
    hub: pick("hub", "RELINK_HUB"),
    receipts: pick("receipts", "RELINK_RECEIPTS"),
    lang,
  };
}

/** Creates the directory if needed and checks that it is writable — before any other work or write. */
export function prepareDir(dir: string, what: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new UserError(
      `${what} ${dir}: cannot create it (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  if (!statSync(dir).isDirectory()) throw new UserError(`${what} ${dir}: not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`${what} ${dir}: not writable`);
  }
  return dir;
}

/** Checks that an output file can be written (its directory exists and is writable) before any work. */
export function checkOutputFile(path: string, what: string): string {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new UserError(`${what} ${path}: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`${what} ${path} is a directory`);
  try {
    accessSync(existsSync(path) ? path : dir, constants.W_OK);
  } catch {
    throw new UserError(`${what} ${path}: not writable`);
  }
  return path;
}
