import { useCallback, useMemo, useState } from 'react'
import { Link, useNavigate } from 'react-router'
import { Plug, Plus } from 'lucide-react'
import { Badge, Button, Card, EmptyState, ErrorState, PageHeader, Skeleton, Table, Td, Th } from '@/components/ui'
import { Pagination, SearchInput } from '@/components/ui/controls'
import { useCan } from '@/auth/session'
import { formatTime, relativeTime } from '@/lib/format'
import { CONNECTORS_PER_PAGE, categoryLabel, useConnectorTypes, useConnectors } from '@/features/connectors/connectors'
import { TypeIcon } from '@/features/connectors/TypeIcon'
import { ManagedBadge } from '@/features/ascode/Managed'

export default function Connectors() {
  const can = useCan()
  const write = can('connectors:write')
  const readConfig = can('connectors:read_config')
  const navigate = useNavigate()
  const [search, setSearch] = useState('')
  const [page, setPage] = useState(1)
  const q = useConnectors(search, page)
  const types = useConnectorTypes()
  const typeOf = useMemo(() => new Map((types.data ?? []).map((t) => [t.name, t])), [types.data])
  const onSearch = useCallback((s: string) => {
    setSearch(s)
    setPage(1)
  }, [])
  const newButton = write && (
    <Button variant="primary" icon={<Plus className="size-4" aria-hidden />} onClick={() => navigate('/connectors/new')}>
      New connector
    </Button>
  )
  return (
    <div>
      <PageHeader
        title="Connectors"
        description="Saved connections to databases and files, with their credentials sealed on the server. Pipelines name them with connector:."
        actions={newButton}
      />
      <div className="space-y-4 p-6">
        <SearchInput className="max-w-sm" label="Search connectors" placeholder="Search by name" value={search} onChange={onSearch} />
        <Card className="overflow-hidden">
          {q.isPending ? (
            <div className="space-y-2 p-4">
              {Array.from({ length: 5 }, (_, i) => <Skeleton key={i} className="h-11" />)}
            </div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="Connectors could not be loaded" />
          ) : q.data.items.length === 0 ? (
            <EmptyState
              title={search ? 'No connector matches' : 'No connectors yet'}
              icon={<Plug className="size-6" aria-hidden />}
              action={
                search ? (
                  <Button size="sm" onClick={() => onSearch('')}>Clear search</Button>
                ) : write ? (
                  <Button size="sm" variant="primary" onClick={() => navigate('/connectors/new')}>New connector</Button>
                ) : undefined
              }
            >
              {search
                ? 'Try another name.'
                : 'A connector keeps the address and credentials of a database or a file location, tested once and reused by every pipeline.'}
            </EmptyState>
          ) : (
            <>
              <Table label="Connectors">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th>Name</Th>
                    <Th>Type</Th>
                    <Th>Category</Th>
                    <Th>Updated</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {q.data.items.map((c) => {
                    const t = typeOf.get(c.type)
                    return (
                      <tr key={c.id} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                        <Td>
                          <div className="flex items-center gap-3">
                            <TypeIcon type={c.type} category={t?.category} size="sm" />
                            <div className="min-w-0">
                              {readConfig ? (
                                <Link to={`/connectors/${c.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline dark:text-slate-100 dark:hover:text-brand-300">
                                  {c.name}
                                </Link>
                              ) : (
                                <span className="font-medium">{c.name}</span>
                              )}
                              <ManagedBadge managed={c.managed} className="ml-2" />
                              {c.description && <p className="truncate text-xs text-slate-500 dark:text-slate-400">{c.description}</p>}
                            </div>
                          </div>
                        </Td>
                        <Td className="text-slate-600 dark:text-slate-300">{t?.title ?? c.type}</Td>
                        <Td>{t ? <Badge>{categoryLabel[t.category] ?? t.category}</Badge> : '—'}</Td>
                        <Td className="whitespace-nowrap text-slate-500 dark:text-slate-400">
                          <span title={formatTime(c.updated_at)}>{relativeTime(c.updated_at)}</span>
                          {c.updated_by && <span className="ml-1 text-xs">by {c.updated_by}</span>}
                        </Td>
                      </tr>
                    )
                  })}
                </tbody>
              </Table>
              <Pagination page={page} perPage={CONNECTORS_PER_PAGE} total={q.data.total} onPage={setPage} label="Connectors pages" />
            </>
          )}
        </Card>
      </div>
    </div>
  )
}
