import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { METRIC_NAMES, METRIC_PREFIX } from '../src/index.js'

interface Target { expr?: string, refId?: string }
interface Panel { id?: number, type?: string, title?: string, gridPos?: unknown, targets?: Target[], panels?: Panel[] }

// dist/test/ -> the package root
const DASHBOARD = new URL('../../dashboards/swarm.json', import.meta.url)

function allPanels (panels: Panel[]): Panel[] {
  return panels.flatMap(p => [p, ...allPanels(p.panels ?? [])])
}

describe('dashboards/swarm.json', () => {
  it('is a Grafana dashboard whose panels query exactly the series this package exports', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { title?: string, uid?: string, panels?: Panel[] }
    assert.equal(typeof dashboard.title, 'string')
    assert.equal(typeof dashboard.uid, 'string')
    const panels = allPanels(dashboard.panels ?? [])
    const ids = panels.map(p => p.id)
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique')
    for (const p of panels) assert.ok(p.gridPos !== undefined && typeof p.title === 'string', `panel ${p.id} is placed and titled`)

    const exported = new Set(METRIC_NAMES.map(n => METRIC_PREFIX + n))
    const used = new Set<string>()
    for (const p of panels.filter(p => p.type !== 'row')) {
      assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" queries something`)
      for (const t of p.targets ?? []) {
        assert.equal(typeof t.expr, 'string')
        for (const [name] of (t.expr ?? '').matchAll(/libp2p_[a-z_]+/g)) {
          // a histogram is queried through its _bucket series
          const family = exported.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '')
          assert.ok(exported.has(family), `panel "${p.title}" queries ${name}, which is not exported`)
          used.add(family)
        }
      }
    }
    for (const name of exported) assert.ok(used.has(name), `no panel shows ${name}`)
  })
})
