import { describe, expect, it } from 'vitest'
import { templateText } from './templates'

const t = {
  name: 'orders-join',
  description: 'A lookup join.',
  spec: '# A lookup join.\nversion: 1\nname: orders-join\nsources:\n  - id: orders\n    type: csv\n    config: {path: data/orders.csv, types: {amount: string}}\n  - id: other\n    type: csv\n    config: {path: elsewhere.csv}\ndestinations: []\n',
  files: [{ path: 'data/orders.csv', content: 'id,amount\n1,2\n' }],
}

function read(f: File): Promise<string> {
  return new Promise((resolve) => {
    const r = new FileReader()
    r.onload = () => resolve(String(r.result))
    r.readAsText(f)
  })
}

describe('templateText', () => {
  it('renames, uploads the sample files and points the sources at them, keeping comments', async () => {
    const sent: string[] = []
    const out = await templateText(t, 'my-join', async (f) => {
      sent.push(`${f.name}:${await read(f)}`)
      return { id: 'u-1' }
    })
    expect(sent).toEqual(['orders.csv:id,amount\n1,2\n'])
    expect(out).toContain('# A lookup join.')
    expect(out).toContain('name: my-join')
    expect(out).toContain('config: {types: {amount: string}, upload: u-1}')
    expect(out).toContain('config: {path: elsewhere.csv}')
  })
  it('leaves the paths without upload permission', async () => {
    expect(await templateText(t, 'x', null)).toContain('config: {path: data/orders.csv, types: {amount: string}}')
  })
})
