// The request tester of an HTTP connector's form: runs the first request of a read with the settings
// as they are in the form (POST /api/v1/connectors/test-request, through the server's outbound
// guard) and shows what came back: the status, the URL without secrets, the first records and the
// schema inferred from the page, or the error.
import { useMemo } from 'react'
import { AlertTriangle, ArrowRight, CheckCircle2, FlaskConical } from 'lucide-react'
import { Badge, Button, InlineError, Table, Td, Th } from '@/components/ui'
import { cn } from '@/lib/cn'
import { useTestRequest, type ConnectorType, type TestRequestResult } from './connectors'

/** Columns the preview table shows at most (the rest stay in the schema list). */
const MAX_COLUMNS = 8

export function RequestTester({
  type,
  config,
  connectorId,
  validate,
}: {
  type: ConnectorType
  config: Record<string, unknown>
  /** The saved connector being edited: its stored secrets fill those the form leaves untouched. */
  connectorId?: string
  /** Validates the form first (shows the errors at their fields); false stops the test. */
  validate?: () => boolean
}) {
  const test = useTestRequest()
  const run = () => {
    if (validate && !validate()) return
    test.mutate({ type: type.name, config, connector_id: connectorId, limit: 20 })
  }
  return (
    <section aria-labelledby="request-tester-title" className="rounded-lg border border-slate-200 bg-slate-50/60 p-4 dark:border-slate-800 dark:bg-slate-900/40">
      <div className="flex flex-wrap items-center gap-3">
        <div className="min-w-0 flex-1">
          <h3 id="request-tester-title" className="text-sm font-semibold">Request tester</h3>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            Runs the first request with the settings above, without saving them, and shows the records and the schema it would read.
          </p>
        </div>
        <Button icon={<FlaskConical className="size-4" aria-hidden />} onClick={run} loading={test.isPending}>
          Test request
        </Button>
      </div>
      {test.isError && (
        <div className="mt-3">
          <InlineError error={test.error} />
        </div>
      )}
      {test.data && <Result res={test.data} method={typeof config.method === 'string' && config.method ? config.method : 'GET'} />}
    </section>
  )
}

function Result({ res, method }: { res: TestRequestResult; method: string }) {
  const fields = useMemo(() => res.fields ?? [], [res.fields])
  const records = res.records ?? []
  const columns = useMemo(() => fields.slice(0, MAX_COLUMNS), [fields])
  if (!res.ok) {
    return (
      <div role="status" aria-label="Test request result" className="mt-3 flex items-start gap-2 rounded-lg border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-300">
        <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
        <p className="min-w-0 break-words">
          <span className="font-medium">Request failed: </span>
          <span className="font-mono text-xs">{res.message}</span>
        </p>
      </div>
    )
  }
  return (
    <div role="status" aria-label="Test request result" className="mt-3 space-y-3">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <CheckCircle2 className="size-4 text-emerald-600 dark:text-emerald-400" aria-hidden />
        <Badge tone="green">HTTP {res.status}</Badge>
        <span className="min-w-0 truncate font-mono text-xs text-slate-600 dark:text-slate-300" title={res.url}>
          {method} {res.url}
        </span>
        <span className="ml-auto flex items-center gap-2 text-xs text-slate-500 dark:text-slate-400">
          {res.total} {res.total === 1 ? 'record' : 'records'} on the first page
          {res.has_next && (
            <Badge tone="blue">
              next page <ArrowRight className="size-3" aria-hidden />
            </Badge>
          )}
        </span>
      </div>
      <div className="grid gap-3 lg:grid-cols-[1fr_14rem]">
        <div className="overflow-hidden rounded-md border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-950">
          {records.length === 0 ? (
            <p className="px-4 py-6 text-center text-sm text-slate-500 dark:text-slate-400">The page has no records at the records path.</p>
          ) : (
            <Table label="Records of the first page">
              <thead className="bg-slate-50 dark:bg-slate-900">
                <tr>
                  {columns.map((f) => (
                    <Th key={f.name}>{f.name}</Th>
                  ))}
                  {fields.length > MAX_COLUMNS && <Th>+{fields.length - MAX_COLUMNS} more</Th>}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {records.map((r, i) => (
                  <tr key={i}>
                    {columns.map((f) => (
                      <Td key={f.name} className="max-w-[16rem] truncate py-2 font-mono text-xs">
                        <Cell v={r[f.name]} />
                      </Td>
                    ))}
                    {fields.length > MAX_COLUMNS && <Td className="py-2 text-xs text-slate-400">…</Td>}
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </div>
        <div className="rounded-md border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-950">
          <h4 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">Inferred schema</h4>
          <ul aria-label="Inferred schema" className="space-y-1">
            {fields.map((f) => (
              <li key={f.name} className="flex items-center justify-between gap-2 text-xs">
                <span className="truncate font-mono">{f.name}</span>
                <span className={cn('rounded px-1.5 py-0.5 font-medium', kindTone[f.type] ?? 'bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300')}>{f.type}</span>
              </li>
            ))}
          </ul>
        </div>
      </div>
    </div>
  )
}

const kindTone: Record<string, string> = {
  int: 'bg-sky-50 text-sky-700 dark:bg-sky-500/10 dark:text-sky-300',
  float: 'bg-sky-50 text-sky-700 dark:bg-sky-500/10 dark:text-sky-300',
  decimal: 'bg-sky-50 text-sky-700 dark:bg-sky-500/10 dark:text-sky-300',
  timestamp: 'bg-violet-50 text-violet-700 dark:bg-violet-500/10 dark:text-violet-300',
  date: 'bg-violet-50 text-violet-700 dark:bg-violet-500/10 dark:text-violet-300',
  bool: 'bg-amber-50 text-amber-800 dark:bg-amber-500/10 dark:text-amber-300',
  json: 'bg-emerald-50 text-emerald-700 dark:bg-emerald-500/10 dark:text-emerald-300',
}

function Cell({ v }: { v: unknown }) {
  if (v === null || v === undefined) return <span className="text-slate-400">null</span>
  if (typeof v === 'object') return <span title={JSON.stringify(v)}>{JSON.stringify(v)}</span>
  return <span title={String(v)}>{String(v)}</span>
}
