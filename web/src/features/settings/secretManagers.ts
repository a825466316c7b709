// Pure helpers behind the Secret managers settings: the form's draft and the request body.
import type { Schemas } from '@/api/client'

export type SecretManagerSettings = Schemas['SecretManagerSettings']
export type VaultAuth = 'token' | 'approle' | 'kubernetes'
export type AWSAuth = 'default' | 'static'
export type GCPAuth = 'default' | 'service_account'
export type AzureAuth = 'default' | 'client_secret'

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
  awsEnabled: boolean
  awsRegion: string
  awsEndpoint: string
  awsAuth: AWSAuth
  awsAccessKeyId: string
  awsSecretAccessKey: string
  awsSessionToken: string
  gcpEnabled: boolean
  gcpAuth: GCPAuth
  gcpCredentialsJson: string
  gcpEndpoint: string
  azureEnabled: boolean
  azureAuth: AzureAuth
  azureTenantId: string
  azureClientId: string
  azureClientSecret: string
  azureVaultSuffix: string
  azureAuthorityHost: string
  /** One absolute directory per line. */
  fileRoots: string
  cacheTTL: string
}

export const SECRET_MASK = '********'

export function toDraft(s: SecretManagerSettings): SecretManagersDraft {
  const v = s.vault
  const aws = s.aws ?? { region: '' }
  const gcp = s.gcp ?? {}
  const az = s.azure ?? {}
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
    awsEnabled: !!aws.region,
    awsRegion: aws.region ?? '',
    awsEndpoint: aws.endpoint ?? '',
    awsAuth: (aws.auth as AWSAuth) || 'default',
    awsAccessKeyId: aws.access_key_id ?? '',
    awsSecretAccessKey: aws.secret_access_key ?? '',
    awsSessionToken: aws.session_token ?? '',
    gcpEnabled: !!gcp.auth,
    gcpAuth: (gcp.auth as GCPAuth) || 'default',
    gcpCredentialsJson: gcp.credentials_json ?? '',
    gcpEndpoint: gcp.endpoint ?? '',
    azureEnabled: !!az.auth,
    azureAuth: (az.auth as AzureAuth) || 'default',
    azureTenantId: az.tenant_id ?? '',
    azureClientId: az.client_id ?? '',
    azureClientSecret: az.client_secret ?? '',
    azureVaultSuffix: az.vault_suffix ?? '',
    azureAuthorityHost: az.authority_host ?? '',
    fileRoots: (s.file_roots ?? []).join('\n'),
    cacheTTL: s.cache_ttl || '5m0s',
  }
}

/** The request body: only the fields of the chosen auth method; secrets left as the mask keep the stored ones. */
export function fromDraft(d: SecretManagersDraft): SecretManagerSettings {
  const roots = d.fileRoots.split('\n').map((r) => r.trim()).filter(Boolean)
  const out: SecretManagerSettings = {
    vault: { address: '' },
    aws: awsBody(d),
    gcp: gcpBody(d),
    azure: azureBody(d),
    file_roots: roots,
    cache_ttl: d.cacheTTL.trim(),
  }
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

function awsBody(d: SecretManagersDraft): SecretManagerSettings['aws'] {
  if (!d.awsEnabled || !d.awsRegion.trim()) return { region: '' }
  const a: SecretManagerSettings['aws'] = { region: d.awsRegion.trim(), auth: d.awsAuth }
  if (d.awsEndpoint.trim()) a.endpoint = d.awsEndpoint.trim()
  if (d.awsAuth === 'static') {
    a.access_key_id = d.awsAccessKeyId.trim()
    a.secret_access_key = d.awsSecretAccessKey
    if (d.awsSessionToken) a.session_token = d.awsSessionToken
  }
  return a
}

function gcpBody(d: SecretManagersDraft): SecretManagerSettings['gcp'] {
  if (!d.gcpEnabled) return {}
  const g: SecretManagerSettings['gcp'] = { auth: d.gcpAuth }
  if (d.gcpAuth === 'service_account') g.credentials_json = d.gcpCredentialsJson
  if (d.gcpEndpoint.trim()) g.endpoint = d.gcpEndpoint.trim()
  return g
}

function azureBody(d: SecretManagersDraft): SecretManagerSettings['azure'] {
  if (!d.azureEnabled) return {}
  const a: SecretManagerSettings['azure'] = { auth: d.azureAuth }
  if (d.azureAuth === 'client_secret') {
    a.tenant_id = d.azureTenantId.trim()
    a.client_id = d.azureClientId.trim()
    a.client_secret = d.azureClientSecret
  }
  if (d.azureVaultSuffix.trim()) a.vault_suffix = d.azureVaultSuffix.trim()
  if (d.azureAuthorityHost.trim()) a.authority_host = d.azureAuthorityHost.trim()
  return a
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
  if (d.awsEnabled) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(d.awsRegion.trim())) e.awsRegion = 'A region name, such as eu-west-1'
    if (d.awsEndpoint.trim() && !/^https?:\/\/\S+$/.test(d.awsEndpoint.trim())) e.awsEndpoint = 'An http:// or https:// URL'
    if (d.awsAuth === 'static' && !d.awsAccessKeyId.trim()) e.awsAccessKeyId = 'The access key id is required'
    if (d.awsAuth === 'static' && !d.awsSecretAccessKey) e.awsSecretAccessKey = 'The secret access key is required'
  }
  if (d.gcpEnabled) {
    if (d.gcpAuth === 'service_account' && !d.gcpCredentialsJson.trim()) e.gcpCredentialsJson = 'Paste the service account key file (JSON)'
    else if (d.gcpAuth === 'service_account' && d.gcpCredentialsJson !== SECRET_MASK && !isServiceAccountKey(d.gcpCredentialsJson)) {
      e.gcpCredentialsJson = 'Not a service account key file: it is JSON with "type": "service_account", client_email and private_key'
    }
    if (d.gcpEndpoint.trim() && !/^https?:\/\/\S+$/.test(d.gcpEndpoint.trim())) e.gcpEndpoint = 'An http:// or https:// URL'
  }
  if (d.azureEnabled && d.azureAuth === 'client_secret') {
    if (!d.azureTenantId.trim()) e.azureTenantId = 'The tenant id is required'
    if (!d.azureClientId.trim()) e.azureClientId = 'The client id is required'
    if (!d.azureClientSecret) e.azureClientSecret = 'The client secret is required'
  }
  if (d.azureEnabled && d.azureAuthorityHost.trim() && !d.azureAuthorityHost.trim().startsWith('https://')) e.azureAuthorityHost = 'An https:// URL'
  const bad = d.fileRoots.split('\n').map((r) => r.trim()).filter((r) => r && !r.startsWith('/'))
  if (bad.length) e.fileRoots = `Not an absolute directory: ${bad.join(', ')}`
  if (!/^\d+(\.\d+)?(ms|s|m|h)(\d+(\.\d+)?(ms|s|m|h))*$|^0$/.test(d.cacheTTL.trim())) e.cacheTTL = 'A duration such as 5m, 30s or 1h'
  return e
}

function isServiceAccountKey(text: string): boolean {
  try {
    const k = JSON.parse(text) as Record<string, unknown>
    return k.type === 'service_account' && typeof k.client_email === 'string' && typeof k.private_key === 'string'
  } catch {
    return false
  }
}

export { refKind, refLabel } from '@/lib/secretRef'
