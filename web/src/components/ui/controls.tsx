// More pieces of the UI kit shared by list pages: a search box, pagination, a copy button, a
// definition list. Import them from '@/components/ui/controls'.
import { useEffect, useState, type ReactNode } from 'react'
import { Check, ChevronLeft, ChevronRight, Copy, Search } from 'lucide-react'
import { cn } from '@/lib/cn'
import { formatCount } from '@/lib/format'
import { Button, IconButton } from './index'

/** A search box whose value is reported after the user stops typing (debounced). */
export function SearchInput({
  value, onChange, label, placeholder, delay = 250, className,
}: { value: string; onChange: (v: string) => void; label: string; placeholder?: string; delay?: number; className?: string }) {
  const [text, setText] = useState(value)
  useEffect(() => setText(value), [value])
  useEffect(() => {
    if (text === value) return
    const t = setTimeout(() => onChange(text), delay)
    return () => clearTimeout(t)
  }, [text, value, onChange, delay])
  return (
    <div className={cn('relative', className)}>
      <Search className="pointer-events-none absolute left-2.5 top-1/2 size-4 -translate-y-1/2 text-slate-400" aria-hidden />
      <input
        type="search"
        aria-label={label}
        placeholder={placeholder ?? label}
        value={text}
        onChange={(e) => setText(e.target.value)}
        className="block h-9 w-full rounded-md border-0 bg-white pl-8 pr-3 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-brand-500 focus:outline-none dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700"
      />
    </div>
  )
}

/** Previous / next with "21–40 of 135". */
export function Pagination({
  page, perPage, total, onPage, label = 'Pagination',
}: { page: number; perPage: number; total: number; onPage: (p: number) => void; label?: string }) {
  const pages = Math.max(1, Math.ceil(total / perPage))
  const from = total === 0 ? 0 : (page - 1) * perPage + 1
  const to = Math.min(total, page * perPage)
  return (
    <nav aria-label={label} className="flex items-center justify-between gap-3 border-t border-slate-200 px-4 py-2.5 text-sm text-slate-500 dark:border-slate-800 dark:text-slate-400">
      <span>
        {formatCount(from)}–{formatCount(to)} of {formatCount(total)}
      </span>
      <div className="flex items-center gap-1">
        <Button size="sm" variant="ghost" disabled={page <= 1} onClick={() => onPage(page - 1)} icon={<ChevronLeft className="size-4" aria-hidden />}>
          Previous
        </Button>
        <span className="px-1 tabular-nums">
          {page} / {pages}
        </span>
        <Button size="sm" variant="ghost" disabled={page >= pages} onClick={() => onPage(page + 1)}>
          Next
          <ChevronRight className="size-4" aria-hidden />
        </Button>
      </div>
    </nav>
  )
}

/** Copies text to the clipboard; shows a check for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false)
  useEffect(() => {
    if (!done) return
    const t = setTimeout(() => setDone(false), 1500)
    return () => clearTimeout(t)
  }, [done])
  return (
    <IconButton
      label={done ? 'Copied' : label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setDone(true), () => setDone(false))
      }}
    >
      {done ? <Check className="size-4 text-emerald-500" aria-hidden /> : <Copy className="size-4" aria-hidden />}
    </IconButton>
  )
}

/** A two-column list of terms and values. */
export function DefinitionList({ items, className }: { items: Array<[string, ReactNode]>; className?: string }) {
  return (
    <dl className={cn('grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm', className)}>
      {items.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-500 dark:text-slate-400">{k}</dt>
          <dd className="min-w-0 break-words">{v}</dd>
        </div>
      ))}
    </dl>
  )
}
