// Pure helpers behind the Secret managers settings: the form's draft and the request body.
import type { Schemas } from '@/api/client'

export type SecretManagerSettings = Schemas['SecretManagerSettings']
export type VaultAuth = 'token' | 'approle' | 'kubernetes'

export interface SecretManagersDraft {
  vaultEnabled: boolean
  address: string
  namespace: string
  auth: VaultAuth
  authMount: string
  token: string
  roleId: string
  secretId: string
  kubernetesRole: string
  kubernetesTokenPath: string
  /** One absolute directory per line. */
  fileRoots: string
  cacheTTL: string
}

export const SECRET_MASK = '********'

export function toDraft(s: SecretManagerSettings): SecretManagersDraft {
  const v = s.vault
  return {
    vaultEnabled: !!v.address,
    address: v.address ?? '',
    namespace: v.namespace ?? '',
    auth: (v.auth as VaultAuth) || 'token',
    authMount: v.auth_mount ?? '',
    token: v.token ?? '',
    roleId: v.role_id ?? '',
    secretId: v.secret_id ?? '',
    kubernetesRole: v.kubernetes_role ?? '',
    kubernetesTokenPath: v.kubernetes_token_path ?? '',
    fileRoots: (s.file_roots ?? []).join('\n'),
    cacheTTL: s.cache_ttl || '5m0s',
  }
}

/** The request body: only the fields of the chosen auth method; secrets left as the mask keep the stored ones. */
export function fromDraft(d: SecretManagersDraft): SecretManagerSettings {
  const roots = d.fileRoots.split('\n').map((r) => r.trim()).filter(Boolean)
  const out: SecretManagerSettings = { vault: { address: '' }, file_roots: roots, cache_ttl: d.cacheTTL.trim() }
  if (!d.vaultEnabled || !d.address.trim()) return out
  const v: SecretManagerSettings['vault'] = { address: d.address.trim(), auth: d.auth }
  if (d.namespace.trim()) v.namespace = d.namespace.trim()
  if (d.authMount.trim() && d.auth !== 'token') v.auth_mount = d.authMount.trim()
  if (d.auth === 'token') v.token = d.token
  if (d.auth === 'approle') {
    v.role_id = d.roleId.trim()
    v.secret_id = d.secretId
  }
  if (d.auth === 'kubernetes') {
    v.kubernetes_role = d.kubernetesRole.trim()
    if (d.kubernetesTokenPath.trim()) v.kubernetes_token_path = d.kubernetesTokenPath.trim()
  }
  out.vault = v
  return out
}

/** Problems the form can see before it saves, by field; the server checks the rest. */
export function draftErrors(d: SecretManagersDraft): Partial<Record<keyof SecretManagersDraft, string>> {
  const e: Partial<Record<keyof SecretManagersDraft, string>> = {}
  if (d.vaultEnabled) {
    if (!/^https?:\/\/\S+$/.test(d.address.trim())) e.address = 'An http:// or https:// address, such as https://vault.internal:8200'
    if (d.auth === 'token' && !d.token) e.token = 'The token is required'
    if (d.auth === 'approle' && !d.roleId.trim()) e.roleId = 'The role id is required'
    if (d.auth === 'approle' && !d.secretId) e.secretId = 'The secret id is required'
    if (d.auth === 'kubernetes' && !d.kubernetesRole.trim()) e.kubernetesRole = 'The Vault role is required'
  }
  const bad = d.fileRoots.split('\n').map((r) => r.trim()).filter((r) => r && !r.startsWith('/'))
  if (bad.length) e.fileRoots = `Not an absolute directory: ${bad.join(', ')}`
  if (!/^\d+(\.\d+)?(ms|s|m|h)(\d+(\.\d+)?(ms|s|m|h))*$|^0$/.test(d.cacheTTL.trim())) e.cacheTTL = 'A duration such as 5m, 30s or 1h'
  return e
}

export { refKind, refLabel } from '@/lib/secretRef'
