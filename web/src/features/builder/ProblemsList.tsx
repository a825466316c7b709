// The problems of the spec (syntax, validation, inputs), each naming its node; a click selects the node.
import { AlertCircle, CheckCircle2, Loader2 } from 'lucide-react'
import { cn } from '@/lib/cn'

export interface ListedProblem {
  node?: string
  path: string
  message: string
  line?: number
}

export function ProblemsList({
  problems, checking, onFocus, className,
}: { problems: ListedProblem[]; checking: boolean; onFocus: (p: ListedProblem) => void; className?: string }) {
  return (
    <section aria-label="Problems" className={cn('flex min-h-0 flex-col', className)}>
      <h2 className="flex items-center gap-2 px-3 py-2 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
        Problems
        <span
          className={cn(
            'rounded-full px-1.5 text-[11px] normal-case',
            problems.length ? 'bg-rose-100 text-rose-700 dark:bg-rose-500/20 dark:text-rose-300' : 'bg-emerald-100 text-emerald-700 dark:bg-emerald-500/20 dark:text-emerald-300',
          )}
        >
          {problems.length}
        </span>
        {checking && <Loader2 className="size-3.5 animate-spin" aria-label="Checking" />}
      </h2>
      {problems.length === 0 ? (
        <p className="flex items-center gap-1.5 px-3 pb-3 text-sm text-emerald-700 dark:text-emerald-400">
          <CheckCircle2 className="size-4" aria-hidden /> {checking ? 'Checking…' : 'The pipeline is valid'}
        </p>
      ) : (
        <ul className="min-h-0 flex-1 overflow-y-auto px-1 pb-2">
          {problems.map((p, i) => (
            <li key={i}>
              <button
                type="button"
                onClick={() => onFocus(p)}
                className="flex w-full items-start gap-2 rounded-md px-2 py-1.5 text-left text-sm hover:bg-rose-50 dark:hover:bg-rose-950/40"
              >
                <AlertCircle className="mt-0.5 size-4 shrink-0 text-rose-500" aria-hidden />
                <span className="min-w-0">
                  {p.node && <span className="mr-1 font-medium">{p.node}:</span>}
                  <span className="text-slate-700 dark:text-slate-300">{p.message}</span>
                  <span className="block truncate text-xs text-slate-400">
                    {p.path}
                    {p.line ? ` · line ${p.line}` : ''}
                  </span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
