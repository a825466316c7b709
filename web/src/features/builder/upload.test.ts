import { describe, expect, it } from 'vitest'
import { fileProblem, sourceTypeFor } from './upload'

describe('dropped files', () => {
  it.each([
    ['csv', 'a.csv', 'csv'],
    ['xlsx', 'book.xlsx', 'excel'],
    ['gzip', 'big.ndjson.gz', 'ndjson'],
    ['gzip', 'x.bin.gz', null],
  ])('format %s named %s reads with %s', (format, name, want) => {
    expect(sourceTypeFor(format, name)).toBe(want)
  })
  it('refuses an empty, a too large and an unknown file with a clear message', () => {
    expect(fileProblem(new File([], 'empty.csv'))).toMatch(/empty.csv is empty \(0 bytes\)/)
    expect(fileProblem(new File(['a,b\n1,2\n'], 'big.csv'), 4)).toMatch(/big.csv is 8 B; uploads are limited to 4 B/)
    expect(fileProblem(new File(['MZ'], 'tool.exe'))).toMatch(/not a CSV/)
    expect(fileProblem(new File(['a\n'], 'ok.csv'))).toBeNull()
  })
})
