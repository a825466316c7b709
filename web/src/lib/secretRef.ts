/** The provider a secret manager reference names (vault://, file://), or null for a literal value. */
export function refKind(v: unknown): 'vault' | 'file' | null {
  if (typeof v !== 'string') return null
  if (v.startsWith('vault://')) return 'vault'
  if (v.startsWith('file://')) return 'file'
  return null
}

export const refLabel = { vault: 'from Vault', file: 'from file' } as const
