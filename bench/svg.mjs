// A line chart as a standalone SVG (no browser, no dependencies): x is the sampling interval on a
// log scale (longest on the left), y a value; one line per series. Deterministic output, so a
// golden file can test it.

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

const fmt = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2));

/**
 * series: [{ name, points: [{ intervalUs, value }] }]; options: { title, yLabel, yMin?, yMax?,
 * reference? (a horizontal dashed line, e.g. 1.0 for "no overhead"), width?, height? }.
 */
export function lineChart(series, options) {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const margin = { left: 70, right: 190, top: 40, bottom: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const intervals = [...new Set(series.flatMap((s) => s.points.map((p) => p.intervalUs)))].sort((a, b) => b - a);
  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter(Number.isFinite);
  const yMin = options.yMin ?? Math.min(0, ...values);
  const yMax = options.yMax ?? niceMax(Math.max(...values, options.reference ?? 0));
  const logMax = Math.log10(Math.max(...intervals));
  const logMin = Math.log10(Math.min(...intervals));
  const x = (us) => margin.left + (logMax === logMin ? plotW / 2 : ((logMax - Math.log10(us)) / (logMax - logMin)) * plotW);
  const y = (v) => margin.top + plotH - ((v - yMin) / (yMax - yMin || 1)) * plotH;
  const label = (us) => (us >= 1000 ? `${us / 1000} ms` : `${us} µs`);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const value = yMin + ((yMax - yMin) * i) / 5;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${fmt(value)}</text>`);
  }
  for (const us of intervals) {
    parts.push(`<line x1="${x(us).toFixed(1)}" x2="${x(us).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(us).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle">${label(us)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">sampling interval</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  if (options.reference !== undefined) {
    const ry = y(options.reference).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${ry}" y2="${ry}" stroke="#555" stroke-dasharray="4 4"/>`);
  }
  series.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length];
    const points = s.points.filter((p) => Number.isFinite(p.value)).sort((a, b) => b.intervalUs - a.intervalUs);
    if (points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.intervalUs).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of points) parts.push(`<circle cx="${x(p.intervalUs).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = margin.top + 10 + index * 18;
    parts.push(`<line x1="${margin.left + plotW + 14}" x2="${margin.left + plotW + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${margin.left + plotW + 40}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
