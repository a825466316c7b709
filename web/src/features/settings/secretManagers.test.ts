import { describe, expect, it } from 'vitest'
import { draftErrors, fromDraft, refKind, toDraft } from './secretManagers'

describe('secret manager settings', () => {
  it('round-trips the settings the API returns, keeping the masked token', () => {
    const d = toDraft({ vault: { address: 'https://vault:8200', auth: 'token', token: '********' }, file_roots: ['/run/secrets', '/etc/creds'], cache_ttl: '5m0s' })
    expect(d.vaultEnabled).toBe(true)
    expect(d.fileRoots).toBe('/run/secrets\n/etc/creds')
    expect(fromDraft(d)).toEqual({
      vault: { address: 'https://vault:8200', auth: 'token', token: '********' },
      aws: { region: '' },
      gcp: {},
      azure: {},
      file_roots: ['/run/secrets', '/etc/creds'],
      cache_ttl: '5m0s',
    })
  })

  it('sends only the fields of the chosen auth method, and no Vault when it is off', () => {
    const d = toDraft({ vault: { address: '' }, file_roots: [], cache_ttl: '1m' })
    expect(d.vaultEnabled).toBe(false)
    expect(fromDraft({ ...d, address: 'http://x' }).vault).toEqual({ address: '' })
    const on = { ...d, vaultEnabled: true, address: ' http://vault:8200 ', auth: 'approle' as const, token: 't', roleId: 'r', secretId: 's' }
    expect(fromDraft(on).vault).toEqual({ address: 'http://vault:8200', auth: 'approle', role_id: 'r', secret_id: 's' })
  })

  it('names each problem it can see', () => {
    const d = { ...toDraft({ vault: { address: '' }, file_roots: [], cache_ttl: '5m' }), vaultEnabled: true, address: 'vault:8200', auth: 'approle' as const, fileRoots: 'relative\n/ok', cacheTTL: 'soon' }
    const e = draftErrors(d)
    expect(Object.keys(e).sort()).toEqual(['address', 'cacheTTL', 'fileRoots', 'roleId', 'secretId'])
    expect(e.fileRoots).toContain('relative')
    expect(draftErrors({ ...d, address: 'https://v', roleId: 'r', secretId: 's', fileRoots: '', cacheTTL: '1h30m' })).toEqual({})
  })

  it('round-trips the cloud providers, sending only the fields of each chosen auth method', () => {
    const d = toDraft({
      vault: { address: '' },
      aws: { region: 'eu-west-1', auth: 'static', access_key_id: 'AKIA1', secret_access_key: '********' },
      gcp: { auth: 'service_account', credentials_json: '********' },
      azure: { auth: 'client_secret', tenant_id: 't', client_id: 'c', client_secret: '********', vault_suffix: 'vault.azure.cn' },
      file_roots: [],
      cache_ttl: '5m0s',
    })
    expect([d.awsEnabled, d.gcpEnabled, d.azureEnabled]).toEqual([true, true, true])
    expect(draftErrors(d)).toEqual({})
    const body = fromDraft(d)
    expect(body.aws).toEqual({ region: 'eu-west-1', auth: 'static', access_key_id: 'AKIA1', secret_access_key: '********' })
    expect(body.gcp).toEqual({ auth: 'service_account', credentials_json: '********' })
    expect(body.azure).toEqual({ auth: 'client_secret', tenant_id: 't', client_id: 'c', client_secret: '********', vault_suffix: 'vault.azure.cn' })
    const defaults = fromDraft({ ...d, awsAuth: 'default', gcpAuth: 'default', azureAuth: 'default' })
    expect(defaults.aws).toEqual({ region: 'eu-west-1', auth: 'default' })
    expect(defaults.gcp).toEqual({ auth: 'default' })
    expect(defaults.azure).toEqual({ auth: 'default', vault_suffix: 'vault.azure.cn' })
    const off = fromDraft({ ...d, awsEnabled: false, gcpEnabled: false, azureEnabled: false })
    expect([off.aws, off.gcp, off.azure]).toEqual([{ region: '' }, {}, {}])
  })

  it('names the problems of the cloud providers', () => {
    const base = toDraft({ vault: { address: '' }, file_roots: [], cache_ttl: '5m' })
    const e = draftErrors({
      ...base,
      awsEnabled: true, awsRegion: 'Europe', awsAuth: 'static',
      gcpEnabled: true, gcpAuth: 'service_account', gcpCredentialsJson: '{"type":"authorized_user"}',
      azureEnabled: true, azureAuth: 'client_secret', azureAuthorityHost: 'http://login',
    })
    expect(Object.keys(e).sort()).toEqual(['awsAccessKeyId', 'awsRegion', 'awsSecretAccessKey', 'azureAuthorityHost', 'azureClientId', 'azureClientSecret', 'azureTenantId', 'gcpCredentialsJson'])
    expect(e.gcpCredentialsJson).toContain('service account key')
  })

  it('recognizes a reference only by a known scheme', () => {
    expect(refKind('aws-sm://prod/db#password')).toBe('aws')
    expect(refKind('gcp-sm://p/s')).toBe('gcp')
    expect(refKind('azure-kv://kv/s')).toBe('azure')
    expect(refKind('vault://secret/db#password')).toBe('vault')
    expect(refKind('file:///run/secrets/db')).toBe('file')
    expect(refKind('hunter2')).toBeNull()
    expect(refKind('https://vault')).toBeNull()
    expect(refKind(undefined)).toBeNull()
  })
})
