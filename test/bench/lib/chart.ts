// The latency-distribution chart: one line per scenario, latency on a log scale
// (y) against percentile on a "nines" scale (x: 0, 90, 99, 99.9, 99.99 evenly
// spaced), as an SVG drawn here and converted to PNG by resvg (a WebAssembly/
// native renderer shipped inside its npm package; no browser). Labels need a
// system font (DejaVu Sans, Liberation Sans or any sans-serif the OS has).
import { Resvg } from '@resvg/resvg-js'
import { PERCENTILES, pKey, type LatencySummary } from './histogram.js'

export interface Series {
  readonly label: string
  readonly latencyUs: LatencySummary
  readonly dashed?: boolean
  /** A reference line (the direct upstream): grey. */
  readonly grey?: boolean
}

// Distinguishable on white and from each other (Tableau 10, then darker variants).
const PALETTE = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#393b79', '#000000', '#637939', '#b5a200', '#7b4173', '#5ab4ac', '#e6550d',
]

const W = 1400
const H = 760
const M = { left: 80, right: 430, top: 70, bottom: 70 }
const PW = W - M.left - M.right
const PH = H - M.top - M.bottom
const X_MAX = 4 // 99.99th percentile

const nines = (p: number) => -Math.log10(1 - p / 100)
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmtMs = (ms: number) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms >= 0.1 ? ms.toFixed(2) : ms.toFixed(3))

function points(l: LatencySummary): [number, number][] {
  const out: [number, number][] = []
  const min = l.min
  if (min !== undefined && Number.isFinite(min)) out.push([0, min / 1000])
  for (const p of PERCENTILES) {
    const v = l[pKey(p)]
    if (v !== undefined && Number.isFinite(v) && v > 0 && nines(p) <= X_MAX + 1e-9) out.push([nines(p), v / 1000])
  }
  return out
}

export function chartSvg(title: string, subtitle: string, series: readonly Series[]): string {
  const all = series.flatMap((s) => points(s.latencyUs).map(([, y]) => y))
  const lo = Math.max(0.005, Math.min(...all, 1))
  const hi = Math.max(...all, lo * 10)
  const yMin = Math.log10(lo) - 0.05
  const yMax = Math.log10(hi) + 0.05
  const X = (x: number) => M.left + (x / X_MAX) * PW
  const Y = (ms: number) => M.top + PH - ((Math.log10(ms) - yMin) / (yMax - yMin)) * PH
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`)
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  parts.push(`<text x="${M.left}" y="32" font-size="20" font-weight="bold" fill="#222">${esc(title)}</text>`)
  parts.push(`<text x="${M.left}" y="54" font-size="13" fill="#555">${esc(subtitle)}</text>`)
  // y grid: 1-2-5 per decade
  for (let d = Math.floor(yMin); d <= Math.ceil(yMax); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d
      const lv = Math.log10(v)
      if (lv < yMin || lv > yMax) continue
      const y = Y(v)
      parts.push(`<line x1="${M.left}" y1="${y.toFixed(1)}" x2="${M.left + PW}" y2="${y.toFixed(1)}" stroke="${m === 1 ? '#c8c8c8' : '#ececec'}" stroke-width="1"/>`)
      parts.push(`<text x="${M.left - 8}" y="${(y + 4).toFixed(1)}" font-size="12" text-anchor="end" fill="#444">${fmtMs(v)}</text>`)
    }
  }
  // x grid
  for (const [p, label] of [[0, '0'], [50, '50'], [90, '90'], [99, '99'], [99.9, '99.9'], [99.99, '99.99']] as const) {
    const x = X(nines(p))
    parts.push(`<line x1="${x.toFixed(1)}" y1="${M.top}" x2="${x.toFixed(1)}" y2="${M.top + PH}" stroke="#dcdcdc" stroke-width="1"/>`)
    parts.push(`<text x="${x.toFixed(1)}" y="${M.top + PH + 20}" font-size="12" text-anchor="middle" fill="#444">${label}</text>`)
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#888" stroke-width="1"/>`)
  parts.push(`<text x="${M.left + PW / 2}" y="${H - 22}" font-size="14" text-anchor="middle" fill="#222">percentile (%)</text>`)
  parts.push(`<text transform="translate(22 ${M.top + PH / 2}) rotate(-90)" font-size="14" text-anchor="middle" fill="#222">latency (ms, log scale)</text>`)
  // lines and legend
  let colour = 0
  series.forEach((s, i) => {
    const pts = points(s.latencyUs)
    if (pts.length < 2) return
    const stroke = s.grey ? '#777777' : (PALETTE[colour++ % PALETTE.length] as string)
    const dash = s.dashed ? (s.grey ? ' stroke-dasharray="3 4"' : ' stroke-dasharray="9 5"') : ''
    const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${stroke}" stroke-width="${s.grey ? 2 : 2.2}"${dash} stroke-linejoin="round"/>`)
    for (const [x, y] of pts) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.6" fill="${stroke}"/>`)
    const ly = M.top + 8 + i * 24
    const lx = M.left + PW + 20
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${stroke}" stroke-width="3"${dash}/>`)
    const p99 = s.latencyUs[pKey(99)]
    const tail = p99 !== undefined && Number.isFinite(p99) ? `p99 ${fmtMs(p99 / 1000)} ms` : ''
    parts.push(`<text x="${lx + 36}" y="${ly + 4}" font-size="12.5" fill="#222">${esc(s.label)}<tspan dx="8" fill="#666">${esc(tail)}</tspan></text>`)
  })
  parts.push('</svg>')
  return parts.join('\n')
}

export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' })
  return r.render().asPng()
}
