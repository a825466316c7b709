import { describe, expect, it } from 'vitest'
import { draftErrors, fromDraft, refKind, toDraft } from './secretManagers'

describe('secret manager settings', () => {
  it('round-trips the settings the API returns, keeping the masked token', () => {
    const d = toDraft({ vault: { address: 'https://vault:8200', auth: 'token', token: '********' }, file_roots: ['/run/secrets', '/etc/creds'], cache_ttl: '5m0s' })
    expect(d.vaultEnabled).toBe(true)
    expect(d.fileRoots).toBe('/run/secrets\n/etc/creds')
    expect(fromDraft(d)).toEqual({ vault: { address: 'https://vault:8200', auth: 'token', token: '********' }, file_roots: ['/run/secrets', '/etc/creds'], cache_ttl: '5m0s' })
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

  it('recognizes a reference only by a known scheme', () => {
    expect(refKind('vault://secret/db#password')).toBe('vault')
    expect(refKind('file:///run/secrets/db')).toBe('file')
    expect(refKind('hunter2')).toBeNull()
    expect(refKind('https://vault')).toBeNull()
    expect(refKind(undefined)).toBeNull()
  })
})
