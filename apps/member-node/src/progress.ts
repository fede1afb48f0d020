/** Progress on stderr: a bar on a terminal, a line every few seconds otherwise (logs, CI). */
import cliProgress from "cli-progress";

export function progressReporter(enabled: boolean): (stage: string, done: number, total: number) => void {
  if (!enabled) return () => {};
  if (process.stderr.isTTY) {
    const bars = new Map<string, cliProgress.SingleBar>();
    return (stage, done, total) => {
      let bar = bars.get(stage);
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: `${stage.padEnd(8)} [{bar}] {value}/{total}`,
            stream: process.stderr,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
        bars.set(stage, bar);
      }
      bar.update(done);
      if (done >= total) bar.stop();
    };
  }
  let last = 0;
  return (stage, done, total) => {
    const now = Date.now();
    if (done >= total || now - last > 2000) {
      last = now;
      process.stderr.write(`${stage}: ${done}/${total}\n`);
    }
  };
}
