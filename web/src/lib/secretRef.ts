/** The kinds of secret manager references, by scheme. */
const schemes = [
  ['vault://', 'vault'],
  ['aws-sm://', 'aws'],
  ['gcp-sm://', 'gcp'],
  ['azure-kv://', 'azure'],
  ['file://', 'file'],
] as const

export type RefKind = (typeof schemes)[number][1]

/** The provider a secret manager reference names, or null for a literal value. */
export function refKind(v: unknown): RefKind | null {
  if (typeof v !== 'string') return null
  for (const [prefix, kind] of schemes) if (v.startsWith(prefix)) return kind
  return null
}

export const refLabel: Record<RefKind, string> = {
  vault: 'from Vault',
  aws: 'from AWS Secrets Manager',
  gcp: 'from GCP Secret Manager',
  azure: 'from Azure Key Vault',
  file: 'from file',
}
