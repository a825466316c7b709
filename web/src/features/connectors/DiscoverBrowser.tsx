import { useEffect, useMemo, useState } from 'react'
import { Link } from 'react-router'
import { useMutation } from '@tanstack/react-query'
import { Database, KeyRound, RefreshCw, Table2, Timer, Workflow } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { Badge, Button, EmptyState, ErrorState, Skeleton, Spinner, Table, Td, Th } from '@/components/ui'
import { SearchInput } from '@/components/ui/controls'
import { useCan } from '@/auth/session'
import { formatCount } from '@/lib/format'
import { cn } from '@/lib/cn'
import { useDiscover, type Connector, type Stream } from './connectors'

const streamKey = (s: Stream) => (s.namespace ? `${s.namespace}.${s.name}` : s.name)

/**
 * The Discover browser of a saved connector: its streams (tables, views, sheets) with their fields,
 * types, keys and cursor candidates, and sample rows read through a pipeline preview.
 */
export function DiscoverBrowser({ connector }: { connector: Connector }) {
  const discover = useDiscover()
  const { mutate } = discover
  useEffect(() => {
    mutate(connector.id)
  }, [connector.id, mutate])
  const [search, setSearch] = useState('')
  const [selected, setSelected] = useState<string | null>(null)
  const streams = useMemo(() => discover.data?.streams ?? [], [discover.data])
  const shown = streams.filter((s) => !search || streamKey(s).toLowerCase().includes(search.toLowerCase()))
  const current = streams.find((s) => streamKey(s) === selected) ?? shown[0]

  if (discover.isPending || discover.isIdle) {
    return (
      <div className="grid gap-4 lg:grid-cols-[16rem_1fr]">
        <div className="space-y-2">{Array.from({ length: 5 }, (_, i) => <Skeleton key={i} className="h-9" />)}</div>
        <Skeleton className="h-64" />
      </div>
    )
  }
  if (discover.isError) {
    return <ErrorState error={discover.error} retry={() => mutate(connector.id)} title="Discovery failed" />
  }
  if (streams.length === 0) {
    return (
      <EmptyState
        title="No streams found"
        icon={<Database className="size-6" aria-hidden />}
        action={<Button size="sm" icon={<RefreshCw className="size-4" aria-hidden />} onClick={() => mutate(connector.id)}>Discover again</Button>}
      >
        The connection works but lists nothing to read: check the schema, the database or the privileges of the user.
      </EmptyState>
    )
  }
  return (
    <div className="grid gap-4 lg:grid-cols-[16rem_1fr]">
      <div className="space-y-2">
        <div className="flex items-center gap-2">
          <SearchInput className="flex-1" label="Search streams" placeholder="Filter streams" value={search} onChange={setSearch} delay={0} />
          <Button size="sm" variant="ghost" aria-label="Discover again" title="Discover again" onClick={() => mutate(connector.id)}>
            <RefreshCw className="size-4" aria-hidden />
          </Button>
        </div>
        <p className="px-1 text-xs text-slate-500 dark:text-slate-400">{formatCount(streams.length)} {streams.length === 1 ? 'stream' : 'streams'}</p>
        <ul aria-label="Streams" className="max-h-[28rem] space-y-0.5 overflow-y-auto">
          {shown.map((s) => {
            const k = streamKey(s)
            const active = current && streamKey(current) === k
            return (
              <li key={k}>
                <button
                  type="button"
                  aria-current={active ? 'true' : undefined}
                  onClick={() => setSelected(k)}
                  className={cn(
                    'flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-left text-sm',
                    active ? 'bg-brand-50 font-medium text-brand-700 dark:bg-brand-500/10 dark:text-brand-300' : 'hover:bg-slate-100 dark:hover:bg-slate-800',
                  )}
                >
                  <Table2 className="size-4 shrink-0 text-slate-400" aria-hidden />
                  <span className="min-w-0 flex-1 truncate">{s.name}</span>
                  {s.namespace && <span className="shrink-0 text-xs text-slate-400">{s.namespace}</span>}
                </button>
              </li>
            )
          })}
        </ul>
      </div>
      {current && <StreamDetail key={streamKey(current)} connector={connector} stream={current} />}
    </div>
  )
}

function StreamDetail({ connector, stream }: { connector: Connector; stream: Stream }) {
  const can = useCan()
  const keys = new Set(stream.primary_key ?? [])
  const cursors = new Set(stream.cursor_candidates ?? [])
  const sample = useMutation({
    mutationFn: async () => {
      // A preview of a one-source pipeline reads sample rows; nothing is written.
      const spec = {
        version: 1,
        name: 'discover-sample',
        sources: [{ id: 'sample', connector: connector.name, stream: stream.name }],
        destinations: [{ id: 'discard', type: 'ndjson', inputs: ['sample'], config: { path: 'discover-sample.ndjson' } }],
      }
      const res = await unwrap(
        api.POST('/api/v1/pipelines/preview', { params: { query: { rows: 20 } }, body: spec as never }),
      )
      return res.nodes?.find((n) => n.id === 'sample')
    },
  })
  const fields = stream.fields ?? []
  const rows = sample.data?.rows ?? []
  const cols = sample.data?.fields?.map((f) => f.name) ?? fields.map((f) => f.name)
  const use = `/pipelines/new?source=${encodeURIComponent(connector.id)}&stream=${encodeURIComponent(stream.name)}`
  return (
    <section aria-label={`Stream ${stream.name}`} className="min-w-0 space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="min-w-0">
          <h3 className="flex items-center gap-2 text-base font-semibold">
            {stream.name}
            {stream.kind && <Badge>{stream.kind}</Badge>}
          </h3>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            {stream.namespace && <>Schema {stream.namespace} · </>}
            {formatCount(fields.length)} fields
            {stream.row_estimate != null && stream.row_estimate > 0 && <> · about {formatCount(stream.row_estimate)} rows</>}
          </p>
        </div>
        <div className="flex gap-2">
          {can('pipelines:read') && (
            <Button size="sm" onClick={() => sample.mutate()} loading={sample.isPending} disabled={!can('pipelines:write')} title={can('pipelines:write') ? undefined : 'Needs pipelines:write'}>
              {sample.data ? 'Reload sample rows' : 'Show sample rows'}
            </Button>
          )}
          {can('pipelines:write') && (
            <Link
              to={use}
              aria-label={`Use ${stream.name} in a pipeline`}
              className="inline-flex h-7 items-center gap-1.5 rounded-md bg-brand-600 px-2.5 text-xs font-medium text-white shadow-sm hover:bg-brand-700"
            >
              <Workflow className="size-3.5" aria-hidden /> Use in a pipeline
            </Link>
          )}
        </div>
      </div>
      <div className="overflow-hidden rounded-lg border border-slate-200 dark:border-slate-800">
        <Table label={`Fields of ${stream.name}`}>
          <thead className="bg-slate-50 dark:bg-slate-800/50">
            <tr>
              <Th>Field</Th>
              <Th>Type</Th>
              <Th>Nullable</Th>
              <Th>Role</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {fields.map((f) => (
              <tr key={f.name}>
                <Td className="font-mono text-xs">{f.name}</Td>
                <Td><Badge tone="blue">{f.type}</Badge></Td>
                <Td className="text-slate-500 dark:text-slate-400">{f.nullable ? 'yes' : 'no'}</Td>
                <Td>
                  <span className="flex flex-wrap gap-1">
                    {keys.has(f.name) && (
                      <Badge tone="amber"><KeyRound className="size-3" aria-hidden /> Primary key</Badge>
                    )}
                    {cursors.has(f.name) && (
                      <Badge tone="green"><Timer className="size-3" aria-hidden /> Cursor candidate</Badge>
                    )}
                  </span>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </div>
      {sample.isPending && <Spinner label="Reading sample rows" />}
      {sample.isError && <ErrorState error={sample.error} retry={() => sample.mutate()} title="Sample rows could not be read" />}
      {sample.data && (
        <div className="space-y-2">
          <h4 className="text-sm font-semibold">Sample rows <span className="font-normal text-slate-500">({formatCount(rows.length)})</span></h4>
          {rows.length === 0 ? (
            <p className="text-sm text-slate-500">The stream is empty.</p>
          ) : (
            <div className="overflow-hidden rounded-lg border border-slate-200 dark:border-slate-800">
              <Table label={`Sample rows of ${stream.name}`}>
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>{cols.map((c) => <Th key={c} className="normal-case">{c}</Th>)}</tr>
                </thead>
                <tbody className="divide-y divide-slate-100 font-mono text-xs dark:divide-slate-800">
                  {rows.map((r, i) => (
                    <tr key={i}>
                      {cols.map((c) => (
                        <Td key={c} className="max-w-xs truncate py-2">{cell(r[c])}</Td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </Table>
            </div>
          )}
        </div>
      )}
    </section>
  )
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '∅'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}
