import type { NodeStats } from './queries'

/** Rows per second of each node between two counter snapshots (rows out per second). */
export function nodeRates(prev: NodeStats[], prevAt: number, nodes: NodeStats[], at: number): Record<string, number> {
  const rates: Record<string, number> = {}
  if (!(at > prevAt)) return rates
  const dt = (at - prevAt) / 1000
  const before = new Map(prev.map((n) => [n.id, n.out]))
  for (const n of nodes) {
    const b = before.get(n.id)
    if (b != null) rates[n.id] = Math.max(0, (n.out - b) / dt)
  }
  return rates
}
