import { expect, it } from "vitest";
import { matchPath } from "../src/http.ts";

it("matches literal, parameter and rest segments", () => {
  expect(matchPath("/healthz", "/healthz")).toEqual({});
  expect(matchPath("/healthz", "/healthz/x")).toBeUndefined();
  expect(matchPath("/log/proof/:index", "/log/proof/42")).toEqual({ index: "42" });
  expect(matchPath("/log/tile/*rest", "/log/tile/0/x001/234.p/7")).toEqual({ rest: "0/x001/234.p/7" });
  expect(matchPath("/a/:b", "/a")).toBeUndefined();
});
