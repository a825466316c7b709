import { Database, FileCode2, FileJson, FileSpreadsheet, FileText, Plug, Server, Sheet } from 'lucide-react'
import { cn } from '@/lib/cn'

const icons: Record<string, { icon: typeof Plug; tone: string }> = {
  postgres: { icon: Database, tone: 'bg-sky-100 text-sky-700 dark:bg-sky-500/15 dark:text-sky-300' },
  mysql: { icon: Database, tone: 'bg-orange-100 text-orange-700 dark:bg-orange-500/15 dark:text-orange-300' },
  sqlserver: { icon: Server, tone: 'bg-rose-100 text-rose-700 dark:bg-rose-500/15 dark:text-rose-300' },
  csv: { icon: FileSpreadsheet, tone: 'bg-emerald-100 text-emerald-700 dark:bg-emerald-500/15 dark:text-emerald-300' },
  tsv: { icon: FileSpreadsheet, tone: 'bg-teal-100 text-teal-700 dark:bg-teal-500/15 dark:text-teal-300' },
  excel: { icon: Sheet, tone: 'bg-green-100 text-green-700 dark:bg-green-500/15 dark:text-green-300' },
  json: { icon: FileJson, tone: 'bg-amber-100 text-amber-700 dark:bg-amber-500/15 dark:text-amber-300' },
  ndjson: { icon: FileJson, tone: 'bg-yellow-100 text-yellow-800 dark:bg-yellow-500/15 dark:text-yellow-300' },
  xml: { icon: FileCode2, tone: 'bg-violet-100 text-violet-700 dark:bg-violet-500/15 dark:text-violet-300' },
}

const byCategory: Record<string, typeof Plug> = { database: Database, file: FileText }

/** A coloured tile with the icon of a connector type (a generic plug for types it does not know). */
export function TypeIcon({ type, category, size = 'md' }: { type: string; category?: string; size?: 'sm' | 'md' | 'lg' }) {
  const known = icons[type]
  const Icon = known?.icon ?? (category ? byCategory[category] : undefined) ?? Plug
  const tone = known?.tone ?? 'bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300'
  return (
    <span
      aria-hidden
      className={cn(
        'inline-flex shrink-0 items-center justify-center rounded-lg',
        size === 'sm' ? 'size-7' : size === 'lg' ? 'size-11' : 'size-9',
        tone,
      )}
    >
      <Icon className={size === 'sm' ? 'size-4' : size === 'lg' ? 'size-6' : 'size-5'} />
    </span>
  )
}
