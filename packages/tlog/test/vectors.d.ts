// Vitest (Vite) resolves import.meta.glob at transform time; the crypto leaf may not read files itself.
interface ImportMeta {
  glob<T = unknown>(
    pattern: string | string[],
    options: { eager: true; import?: string; query?: string },
  ): Record<string, T>;
}
