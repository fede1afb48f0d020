export * from "./synthetic.ts";
