// The palette: every source, transform and destination type from the API, grouped and searchable.
// Drag an entry onto the canvas (or press Enter on it to add it in the middle of the view).
import { useMemo, useState } from 'react'
import { Search } from 'lucide-react'
import { Input, Skeleton } from '@/components/ui'
import { kindStyle, type NodeKind } from '@/features/graph'
import { cn } from '@/lib/cn'

export interface PaletteEntry {
  kind: NodeKind
  type: string
  title: string
  description: string
}

export const DND_TYPE = 'application/x-aggregator-node'

export function Palette({
  entries, loading, onAdd, disabled,
}: { entries: PaletteEntry[]; loading: boolean; onAdd: (e: PaletteEntry) => void; disabled?: boolean }) {
  const [q, setQ] = useState('')
  const groups = useMemo(() => {
    const term = q.trim().toLowerCase()
    const match = (e: PaletteEntry) =>
      !term || e.type.toLowerCase().includes(term) || e.title.toLowerCase().includes(term) || e.description.toLowerCase().includes(term)
    return (['source', 'transform', 'destination'] as NodeKind[]).map((kind) => ({
      kind,
      items: entries.filter((e) => e.kind === kind && match(e)),
    }))
  }, [entries, q])

  return (
    <aside aria-label="Palette" className="flex w-60 shrink-0 flex-col border-r border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="border-b border-slate-200 p-3 dark:border-slate-800">
        <div className="relative">
          <Search className="pointer-events-none absolute left-2.5 top-2.5 size-4 text-slate-400" aria-hidden />
          <Input type="search" aria-label="Search node types" placeholder="Search nodes" className="pl-8" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <p className="mt-2 text-[11px] text-slate-500 dark:text-slate-400">Drag onto the canvas, or drop a CSV, JSON or Excel file.</p>
      </div>
      <div className="flex-1 space-y-4 overflow-y-auto p-3">
        {loading && [0, 1, 2, 3, 4].map((i) => <Skeleton key={i} className="h-9" />)}
        {groups.map(({ kind, items }) => {
          if (!items.length) return null
          const style = kindStyle[kind]
          const Icon = style.icon
          return (
            <section key={kind} aria-label={`${style.label}s`}>
              <h3 className="mb-1.5 px-1 text-[11px] font-semibold uppercase tracking-wider text-slate-400 dark:text-slate-500">{style.label}s</h3>
              <ul className="space-y-1">
                {items.map((e) => (
                  <li key={e.type}>
                    <button
                      type="button"
                      draggable={!disabled}
                      disabled={disabled}
                      aria-label={`${style.label}: ${e.type}`}
                      title={e.description || e.title}
                      onDragStart={(ev) => {
                        ev.dataTransfer.setData(DND_TYPE, JSON.stringify({ kind: e.kind, type: e.type }))
                        ev.dataTransfer.effectAllowed = 'copy'
                      }}
                      onClick={() => onAdd(e)}
                      className="group flex w-full cursor-grab items-center gap-2 rounded-md border border-slate-200 bg-white px-2 py-1.5 text-left text-sm hover:border-brand-300 hover:bg-brand-50/50 active:cursor-grabbing disabled:cursor-not-allowed disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:hover:border-brand-500/50 dark:hover:bg-brand-500/10"
                    >
                      <span className={cn('flex size-6 shrink-0 items-center justify-center rounded', style.chip)}>
                        <Icon className="size-3.5" aria-hidden />
                      </span>
                      <span className="min-w-0">
                        <span className="block truncate font-medium leading-tight">{e.type}</span>
                        <span className="block truncate text-[11px] text-slate-500 dark:text-slate-400">{e.title}</span>
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          )
        })}
        {!loading && groups.every((g) => !g.items.length) && <p className="px-1 text-sm text-slate-500">No node type matches “{q}”.</p>}
      </div>
    </aside>
  )
}
