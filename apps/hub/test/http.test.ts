import { expect, it } from "vitest";
import { HttpError, matchPath } from "../src/http.ts";

it("matches literal, parameter and rest segments", () => {
  expect(matchPath("/healthz", "/healthz")).toEqual({});
  expect(matchPath("/healthz", "/healthz/x")).toBeUndefined();
  expect(matchPath("/log/proof/:index", "/log/proof/42")).toEqual({ index: "42" });
  expect(matchPath("/log/tile/*rest", "/log/tile/0/x001/234.p/7")).toEqual({ rest: "0/x001/234.p/7" });
  expect(matchPath("/a/:b", "/a")).toBeUndefined();
});

it("refuses malformed percent-encoding in a captured segment with BAD_INPUT (issue 15.1)", () => {
  for (const bad of ["/trpc/%ZZ", "/trpc/a/%", "/trpc/%E0%A4%A"]) {
    expect(() => matchPath("/trpc/*path", bad)).toThrow(
      expect.objectContaining({ code: "BAD_INPUT", status: 400 }),
    );
  }
  expect(() => matchPath("/log/leaf/:index", "/log/leaf/%C0%AF")).toThrow(HttpError);
  // A path that does not match the pattern is never decoded.
  expect(matchPath("/healthz", "/%ZZ")).toBeUndefined();
});
