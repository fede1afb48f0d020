/** A bar chart as plain SVG (no script, no chart library): label under each bar, value above it. */
export function Histogram({ bins, title }: { bins: { label: string; value: number }[]; title: string }) {
  const w = 560;
  const h = 200;
  const pad = 28;
  const max = Math.max(1, ...bins.map((b) => b.value));
  const bw = (w - pad * 2) / bins.length;
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${w} ${h + 30}`}
      role="img"
      aria-label={title}
      data-testid="histogram"
    >
      <title>{title}</title>
      <line x1={pad} y1={h} x2={w - pad} y2={h} stroke="#c5cfdb" />
      {bins.map((b, i) => {
        const bh = Math.round((b.value / max) * (h - 30));
        const x = pad + i * bw + bw * 0.15;
        return (
          <g key={b.label}>
            <rect x={x} y={h - bh} width={bw * 0.7} height={bh} rx={3} fill="#1d4ed8" opacity={0.85} />
            <text x={x + bw * 0.35} y={h - bh - 6} textAnchor="middle">
              {b.value.toLocaleString()}
            </text>
            <text x={x + bw * 0.35} y={h + 16} textAnchor="middle">
              {b.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
