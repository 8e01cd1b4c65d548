/**
 * The interop matrix as a table: every check of every cell (peer × transport × direction), ok or failed with the
 * reason, and the versions that ran. Printed at the end of the run and written where `TSWARM_INTEROP_REPORT` says.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'


export interface CheckResult {
  peer: string
  transport: string
  direction: string
  check: string
  ok: boolean
  /** A figure (RTT, throughput) when ok, the reason when not. */
  detail: string
}

export class MatrixReport {
  /** Names this report's part of the file, so several test files can write theirs into one document. */
  readonly section: string
  readonly title: string
  readonly results: CheckResult[] = []
  readonly versions = new Map<string, string>()

  constructor (section: string, title: string) {
    this.section = section
    this.title = title
  }

  record (result: CheckResult): void {
    this.results.push(result)
  }

  /** One row per cell, one column per check. */
  table (): string {
    const checks = [...new Set(this.results.map(r => r.check))]
    const cells = new Map<string, Map<string, CheckResult>>()
    for (const r of this.results) {
      const key = `${r.peer} | ${r.transport} | ${r.direction}`
      const row = cells.get(key) ?? new Map<string, CheckResult>()
      row.set(r.check, r)
      cells.set(key, row)
    }
    const lines = [
      `| peer | transport | dialer | ${checks.join(' | ')} |`,
      `| --- | --- | --- | ${checks.map(() => '---').join(' | ')} |`
    ]
    for (const [key, row] of cells) {
      const marks = checks.map(c => {
        const r = row.get(c)
        if (r === undefined) return '–'
        return r.ok ? `ok${r.detail === '' ? '' : ` (${r.detail})`}` : `**fail**: ${r.detail.replaceAll('|', '\\|').replaceAll('\n', ' ').slice(0, 200)}`
      })
      lines.push(`| ${key} | ${marks.join(' | ')} |`)
    }
    return lines.join('\n')
  }

  /** The generated part: versions and the table. */
  markdown (): string {
    const passed = this.results.filter(r => r.ok).length
    const versions = [...this.versions].map(([name, v]) => `- ${name}: ${v}`).join('\n')
    return [
      `## ${this.title}: ${passed} of ${this.results.length} checks ok`,
      '',
      versions,
      '',
      this.table(),
      ''
    ].join('\n')
  }

  /**
   * Writes the generated part into `path` between its markers, keeping what is written around them by hand; a file
   * without the markers gets them.
   */
  write (path: string): void {
    const START = `<!-- ${this.section}:start -->`
    const END = `<!-- ${this.section}:end -->`
    const generated = `${START}\n${this.markdown()}${END}`
    const old = existsSync(path) ? readFileSync(path, 'utf8') : ''
    const start = old.indexOf(START)
    const end = old.indexOf(END)
    const next = start >= 0 && end > start
      ? old.slice(0, start) + generated + old.slice(end + END.length)
      : `${old}${old === '' || old.endsWith('\n') ? '' : '\n'}${generated}\n`
    writeFileSync(path, next)
  }
}
