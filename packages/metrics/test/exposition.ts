/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), to check that /metrics is something a
 * Prometheus server would accept, independently of prom-client which wrote it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`... for histograms). */
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: MetricType
  help: string | undefined
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export class ExpositionError extends Error {
  constructor (line: number, problem: string) {
    super(`line ${line}: ${problem}`)
    this.name = 'ExpositionError'
  }
}

/** Parses `text`, throwing an ExpositionError naming the line on anything a Prometheus server would reject. */
export function parseExposition (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const helps = new Map<string, string>()
  const seenSeries = new Set<string>()
  if (text.length > 0 && !text.endsWith('\n')) throw new ExpositionError(text.split('\n').length, 'the last line must end with a newline')
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1
    const line = lines[i]
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (m === null) continue // a plain comment
      const [, kind, name, rest = ''] = m
      if (!METRIC_NAME.test(name)) throw new ExpositionError(n, `bad metric name "${name}"`)
      if (kind === 'HELP') {
        if (helps.has(name)) throw new ExpositionError(n, `second HELP for ${name}`)
        helps.set(name, unescapeHelp(rest, n))
      } else {
        if (!TYPES.has(rest)) throw new ExpositionError(n, `unknown type "${rest}"`)
        if (families.has(name)) throw new ExpositionError(n, `TYPE for ${name} after its samples or twice`)
        families.set(name, { name, type: rest as MetricType, help: helps.get(name), samples: [] })
      }
      continue
    }
    const sample = parseSample(line, n)
    const family = familyOf(families, sample.name)
    if (family === undefined) throw new ExpositionError(n, `sample ${sample.name} has no TYPE line before it`)
    const key = sample.name + JSON.stringify(Object.entries(sample.labels).sort())
    if (seenSeries.has(key)) throw new ExpositionError(n, `duplicate series ${key}`)
    seenSeries.add(key)
    if (family.type === 'counter' && !(sample.value >= 0)) throw new ExpositionError(n, `counter ${sample.name} is ${sample.value}`)
    if (family.type === 'histogram' && sample.name.endsWith('_bucket') && sample.labels.le === undefined) {
      throw new ExpositionError(n, `bucket of ${family.name} without le`)
    }
    family.samples.push(sample)
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

function familyOf (families: Map<string, Family>, sampleName: string): Family | undefined {
  const exact = families.get(sampleName)
  if (exact !== undefined) return exact
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue
    const f = families.get(sampleName.slice(0, -suffix.length))
    if (f !== undefined && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f
  }
  return undefined
}

/** Per label set: buckets never decrease as `le` grows, a `+Inf` bucket exists and equals `_count`. */
function checkHistogram (f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>, count?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const g = groups.get(key) ?? { buckets: [] }
    groups.set(key, g)
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(le, 0), s.value])
    else if (s.name.endsWith('_count')) g.count = s.value
  }
  for (const [key, g] of groups) {
    const sorted = g.buckets.sort((a, b) => a[0] - b[0])
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new ExpositionError(0, `${f.name}${key}: bucket le=${sorted[i][0]} below the one before`)
    }
    const inf = sorted.at(-1)
    if (inf === undefined || inf[0] !== Infinity) throw new ExpositionError(0, `${f.name}${key}: no +Inf bucket`)
    if (g.count !== inf[1]) throw new ExpositionError(0, `${f.name}${key}: _count ${g.count} != +Inf bucket ${inf[1]}`)
  }
}

function parseSample (line: string, n: number): Sample {
  let i = 0
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
  if (nameMatch === null) throw new ExpositionError(n, `no metric name in "${line}"`)
  const name = nameMatch[0]
  i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    for (;;) {
      if (line[i] === '}') { i++; break }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))
      if (ln === null || !LABEL_NAME.test(ln[0])) throw new ExpositionError(n, `bad label name at column ${i + 1}`)
      i += ln[0].length
      if (line[i] !== '=' || line[i + 1] !== '"') throw new ExpositionError(n, `expected =" after label ${ln[0]}`)
      i += 2
      let value = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw new ExpositionError(n, 'unterminated label value')
        i++
        if (c === '"') break
        if (c === '\\') {
          const e = line[i++]
          if (e === '\\') value += '\\'
          else if (e === '"') value += '"'
          else if (e === 'n') value += '\n'
          else throw new ExpositionError(n, `bad escape \\${e ?? ''} in a label value`)
        } else {
          value += c
        }
      }
      if (ln[0] in labels) throw new ExpositionError(n, `label ${ln[0]} twice`)
      labels[ln[0]] = value
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new ExpositionError(n, `expected , or } at column ${i + 1}`)
    }
  }
  if (line[i] !== ' ' && line[i] !== '\t') throw new ExpositionError(n, `expected a space before the value of ${name}`)
  const parts = line.slice(i).trim().split(/\s+/)
  if (parts.length < 1 || parts.length > 2) throw new ExpositionError(n, `expected a value and an optional timestamp, got "${parts.join(' ')}"`)
  const value = parseValue(parts[0], n)
  if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(n, `bad timestamp ${parts[1]}`)
  return { name, labels, value }
}

function parseValue (text: string | undefined, n: number): number {
  if (text === '+Inf' || text === 'Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return NaN
  if (text === undefined || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(n, `bad value "${text ?? ''}"`)
  return Number(text)
}

function unescapeHelp (text: string, n: number): string {
  return text.replace(/\\(.)/g, (_, e: string) => {
    if (e === '\\') return '\\'
    if (e === 'n') return '\n'
    throw new ExpositionError(n, `bad escape \\${e} in HELP`)
  })
}

/** The samples of `family` (or of one of its `_bucket`/`_sum`/`_count` series) whose labels include `labels`. */
export function samples (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  const f = families.get(name) ?? familyOf(families, name)
  if (f === undefined) return []
  return f.samples.filter(s => (s.name === name || f.name === name) && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

/** The one value of `name` with `labels`, or undefined. Throws when several series match. */
export function valueOf (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(families, name, labels).filter(s => s.name === name)
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
