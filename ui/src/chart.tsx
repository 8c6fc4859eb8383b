/**
 * A fixed-size line chart (SVG): a few series over the same time slots, a scale that rounds up to
 * a readable maximum, and a legend with each series' latest value. Missing values leave gaps.
 *
 * @module
 */
import { formatRate } from './format.ts'

export interface Series {
  readonly label: string
  /** A CSS class giving the line its colour (chart.css: .s0 … .s3). */
  readonly tone: string
  readonly values: ReadonlyArray<number | null>
}

const W = 600
const H = 190
const PAD_LEFT = 44
const PAD_TOP = 8
const PAD_BOTTOM = 16

function niceMax(value: number): number {
  if (value <= 0) return 1
  const exp = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * exp) return step * exp
  return 10 * exp
}

export function Chart(props: {
  readonly title: string
  readonly unit: string
  readonly slots: number
  readonly series: readonly Series[]
  readonly testId?: string
}) {
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)))
  const max = niceMax(Math.max(0, ...all))
  const plotW = W - PAD_LEFT
  const plotH = H - PAD_TOP - PAD_BOTTOM
  const x = (i: number): number => PAD_LEFT + (plotW * i) / Math.max(1, props.slots - 1)
  const y = (v: number): number => PAD_TOP + plotH - (plotH * Math.min(v, max)) / max
  const path = (values: ReadonlyArray<number | null>): string => {
    const offset = props.slots - values.length
    let d = ''
    let pen = false
    values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false
        return
      }
      d += `${pen ? 'L' : 'M'}${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`
      pen = true
    })
    return d
  }
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>
        <span class="chart-title">{props.title}</span>
        {props.series.map((s) => (
          <span class={`legend ${s.tone}`} key={s.label}>
            <i />
            {s.label} <b class="num">{formatRate(s.values[s.values.length - 1] ?? null, 2)}</b>
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={PAD_LEFT} x2={W} y1={y(max * f)} y2={y(max * f)} />
            <text class="axis" x={PAD_LEFT - 6} y={y(max * f) + 4} text-anchor="end">
              {formatRate(max * f, max < 10 ? 1 : 0)}
            </text>
          </g>
        ))}
        <text class="axis" x={PAD_LEFT} y={H - 2}>
          −{props.slots}s
        </text>
        <text class="axis" x={W} y={H - 2} text-anchor="end">
          now ({props.unit})
        </text>
        {props.series.map((s) => (
          <path key={s.label} class={`line ${s.tone}`} d={path(s.values)} />
        ))}
      </svg>
    </figure>
  )
}
