import { describe, expect, it } from 'vitest'
import { groupTypes, secretFields, splitSecrets, type ConnectorType } from './connectors'

const t = (name: string, category: string, title = name): ConnectorType => ({
  name, category, title, description: `${title} connector`, checkable: true, discoverable: true, destination: true, source: true,
  incremental: false, unbounded: false, config_schema: {}, testable: false,
})

describe('connector helpers', () => {
  const schema = {
    properties: {
      host: { type: 'string' },
      password: { type: 'string', 'x-secret': true, writeOnly: true, format: 'password' },
      url: { type: 'string', 'x-secret': true },
      token: { type: 'string', format: 'password' },
    },
  }

  it('finds secret fields by x-secret, writeOnly or format password', () => {
    expect(secretFields(schema)).toEqual(['password', 'url', 'token'])
    expect(secretFields(undefined)).toEqual([])
  })

  it('finds secrets in nested objects and in the options of a tagged union', () => {
    const rest = {
      properties: {
        url: { type: 'string' },
        auth: {
          type: 'object',
          'x-discriminator': 'type',
          oneOf: [
            { properties: { type: { const: 'none' } } },
            { properties: { type: { const: 'bearer' }, token: { type: 'string', 'x-secret': true } } },
            { properties: { type: { const: 'oauth2' }, client_secret: { type: 'string', 'x-secret': true }, refresh_token: { type: 'string', 'x-secret': true } } },
          ],
        },
        tls: { type: 'object', properties: { key: { type: 'string', writeOnly: true, format: 'password' } } },
      },
    }
    expect(secretFields(rest)).toEqual(['auth.token', 'auth.client_secret', 'auth.refresh_token', 'tls.key'])
    const stored = { url: 'u', auth: { type: 'bearer', token: '********' } }
    const { data, set } = splitSecrets(stored, secretFields(rest))
    expect(data).toEqual({ url: 'u', auth: { type: 'bearer' } })
    expect(set).toEqual({ 'auth.token': true, 'auth.client_secret': false, 'auth.refresh_token': false, 'tls.key': false })
    expect(stored.auth.token).toBe('********') // the stored config is not changed
  })

  it('keeps secret manager references apart: shown as written, never sent back', () => {
    const { data, set, refs } = splitSecrets({ host: 'db', password: 'vault://secret/db#password', token: '********' }, ['password', 'token'])
    expect(data).toEqual({ host: 'db' })
    expect(set).toEqual({ password: true, token: true })
    expect(refs).toEqual({ password: 'vault://secret/db#password' })
  })

  it('never fills a stored secret back: masked secrets leave the form data and become "set"', () => {
    const { data, set } = splitSecrets({ host: 'db', password: '********', url: '' }, ['password', 'url', 'token'])
    expect(data).toEqual({ host: 'db' })
    expect(set).toEqual({ password: true, url: false, token: false })
  })

  it('groups types by category (databases first) and searches name, title, description and category', () => {
    const types = [t('csv', 'file', 'CSV file'), t('postgres', 'database', 'PostgreSQL'), t('mysql', 'database', 'MySQL'), t('x', 'zzz')]
    expect(groupTypes(types, '').map(([c, ts]) => [c, ts.map((x) => x.name)])).toEqual([
      ['database', ['mysql', 'postgres']],
      ['file', ['csv']],
      ['zzz', ['x']],
    ])
    expect(groupTypes(types, 'postgre').map(([c, ts]) => [c, ts.map((x) => x.name)])).toEqual([['database', ['postgres']]])
    expect(groupTypes(types, 'FILE').flatMap(([, ts]) => ts.map((x) => x.name))).toEqual(['csv'])
    expect(groupTypes(types, 'nothing-like-it')).toEqual([])
  })
})
