// The result grid: a sticky header with each column's type, numbers right-aligned in tabular
// figures, NULL shown as such, long text clipped with its full value on hover.
import type { QueryResult } from './api'
import { display, isNumeric } from './model'
import { cn } from '@/lib/cn'

export function ResultTable({ result }: { result: QueryResult }) {
  const numeric = result.columns.map((c, i) => isNumeric(c, i, result.rows))
  return (
    <div className="max-h-[28rem] overflow-auto">
      <table aria-label="Query result" className="min-w-full border-separate border-spacing-0 text-sm">
        <thead className="sticky top-0 z-10 bg-slate-50 dark:bg-slate-900">
          <tr>
            <th scope="col" className="w-12 border-b border-slate-200 px-3 py-2 text-right text-xs font-medium text-slate-400 dark:border-slate-800">#</th>
            {result.columns.map((c, i) => (
              <th
                key={c.name}
                scope="col"
                className={cn('border-b border-slate-200 px-3 py-2 text-left dark:border-slate-800', numeric[i] && 'text-right')}
              >
                <span className="block text-xs font-semibold text-slate-700 dark:text-slate-200">{c.name}</span>
                <span className="block text-[11px] font-normal text-slate-400">{c.native || c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result.rows.map((r, ri) => (
            <tr key={ri} className="hover:bg-brand-50/40 dark:hover:bg-slate-800/40">
              <td className="border-b border-slate-100 px-3 py-1.5 text-right font-mono text-xs text-slate-400 dark:border-slate-800/60">{ri + 1}</td>
              {(r ?? []).map((v, ci) => (
                <td
                  key={ci}
                  title={v == null ? 'NULL' : display(v)}
                  className={cn(
                    'max-w-xs truncate border-b border-slate-100 px-3 py-1.5 dark:border-slate-800/60',
                    numeric[ci] && 'text-right font-mono tabular-nums',
                  )}
                >
                  {v == null ? <span className="text-xs italic text-slate-400">NULL</span> : display(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
