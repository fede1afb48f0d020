/** The task stream's line writer (ADR 0044): the parts concatenate to a line that parses to exactly `{ tasks }`. */
import { randomBytes } from "node:crypto";
import type { ExposureTask } from "@relink/protocol";
import { describe, expect, it } from "vitest";
import { taskLine } from "../src/routes/exposure.ts";

const task = (publicKey: string, members: number): ExposureTask => ({
  queryId: crypto.randomUUID(),
  round: 1 + members,
  mode: members % 2 ? "subjects" : "aggregate",
  presetId: "bfv-4096-add-v1",
  publicKey,
  ciphertextCount: members,
  slots: [{ tag: randomBytes(32).toString("base64url"), slotBase: 9 * members }],
  participants: Array.from({ length: members }, () => ({
    memberId: crypto.randomUUID(),
    maskKey: randomBytes(32).toString("base64url"),
  })),
  asOf: "2026-12-03",
  deadline: 1_800_000_000_000 + members,
});

const line = (tasks: ExposureTask[]) => Buffer.concat(taskLine(tasks)).toString("utf8");

describe("exposure task stream lines", () => {
  it("parse to exactly the tasks, one line, for 0, 1 and several tasks, keys shared or not", () => {
    const a = randomBytes(65_800).toString("base64url");
    const b = randomBytes(300).toString("base64url");
    for (const tasks of [[], [task(a, 3)], [task(a, 1), task(a, 2), task(b, 4)], [task(b, 2), task(a, 5)]]) {
      const text = line(tasks);
      expect(text.endsWith("\n")).toBe(true);
      expect(text.indexOf("\n")).toBe(text.length - 1);
      expect(JSON.parse(text)).toEqual({ tasks });
    }
  });

  it("escapes a key text like JSON.stringify (anything the task carries survives the round trip)", () => {
    const odd = 'quote " backslash \\ newline \n tab \t é ✓';
    const tasks = [task(odd, 2), task(`${odd}x`, 1)];
    expect(JSON.parse(line(tasks))).toEqual({ tasks });
    expect(JSON.parse(line([task(odd, 1)]))).toEqual({
      tasks: [expect.objectContaining({ publicKey: odd })],
    });
  });
});
