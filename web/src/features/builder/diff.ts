// A line diff (longest common subsequence) of two texts, for the version history.
export type DiffLine = { op: 'same' | 'add' | 'del'; text: string; a?: number; b?: number }

export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split('\n')
  const y = b.split('\n')
  if (x[x.length - 1] === '') x.pop()
  if (y[y.length - 1] === '') y.pop()
  const n = x.length
  const m = y.length
  // lcs[i][j]: length of the LCS of x[i:] and y[j:]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: 'same', text: x[i], a: i + 1, b: j + 1 })
      i++
      j++
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ op: 'del', text: x[i], a: i + 1 })
      i++
    } else {
      out.push({ op: 'add', text: y[j], b: j + 1 })
      j++
    }
  }
  for (; i < n; i++) out.push({ op: 'del', text: x[i], a: i + 1 })
  for (; j < m; j++) out.push({ op: 'add', text: y[j], b: j + 1 })
  return out
}
