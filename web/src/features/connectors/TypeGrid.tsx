import { useState } from 'react'
import { Plug } from 'lucide-react'
import { Badge, EmptyState } from '@/components/ui'
import { SearchInput } from '@/components/ui/controls'
import { categoryLabel, groupTypes, type ConnectorType } from './connectors'
import { TypeIcon } from './TypeIcon'

/** A searchable grid of connector types grouped by category; choosing one calls onChoose. */
export function TypeGrid({ types, onChoose }: { types: ConnectorType[]; onChoose: (t: ConnectorType) => void }) {
  const [search, setSearch] = useState('')
  const groups = groupTypes(types, search)
  return (
    <div className="space-y-6">
      <SearchInput className="max-w-md" label="Search connector types" placeholder="Search PostgreSQL, CSV, Excel…" value={search} onChange={setSearch} delay={0} />
      {groups.length === 0 ? (
        <EmptyState title="No connector type matches" icon={<Plug className="size-6" aria-hidden />}>
          Try another name, such as “postgres” or “csv”.
        </EmptyState>
      ) : (
        groups.map(([category, list]) => (
          <section key={category} aria-labelledby={`cat-${category}`} className="space-y-3">
            <h2 id={`cat-${category}`} className="text-xs font-semibold uppercase tracking-wider text-slate-500 dark:text-slate-400">
              {categoryLabel[category] ?? category} <span className="font-normal">({list.length})</span>
            </h2>
            <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
              {list.map((t) => (
                <li key={t.name}>
                  <button
                    type="button"
                    onClick={() => onChoose(t)}
                    aria-label={t.title}
                    className="group flex h-full w-full items-start gap-3 rounded-xl border border-slate-200 bg-white p-4 text-left shadow-sm transition hover:-translate-y-0.5 hover:border-brand-400 hover:shadow-md dark:border-slate-800 dark:bg-slate-900 dark:hover:border-brand-500"
                  >
                    <TypeIcon type={t.name} category={t.category} size="lg" />
                    <span className="min-w-0 flex-1 space-y-1">
                      <span className="block font-semibold text-slate-900 group-hover:text-brand-700 dark:text-slate-100 dark:group-hover:text-brand-300">{t.title}</span>
                      <span className="line-clamp-2 block text-xs text-slate-500 dark:text-slate-400">{t.description}</span>
                      <span className="flex flex-wrap gap-1 pt-1">
                        {t.source && <Badge tone="blue">Source</Badge>}
                        {t.destination && <Badge tone="violet">Destination</Badge>}
                        {t.incremental && <Badge tone="green">Incremental</Badge>}
                      </span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))
      )}
    </div>
  )
}
