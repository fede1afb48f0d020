"use client";
/**
 * Receipts the worker brought back in this browser session (sessionStorage): audit-log leaves hold
 * commitments and counts, never personal data, so keeping them here reveals nothing new.
 */
const KEY = "relink-receipts";

export function rememberReceipts(receipts: readonly unknown[]): void {
  const all = sessionReceipts();
  all.push(...receipts.filter((r) => r !== null && r !== undefined));
  sessionStorage.setItem(KEY, JSON.stringify(all.slice(-200)));
}

export function sessionReceipts(): unknown[] {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "[]") as unknown[];
  } catch {
    return [];
  }
}
