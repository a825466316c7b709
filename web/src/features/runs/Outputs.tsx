// The files a finished run's file destinations wrote, each downloadable (GET /runs/{id}/outputs/{node}).
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Download, FileOutput } from 'lucide-react'
import { Button, EmptyState, ErrorState, Skeleton, Table, Td, Th, InlineError } from '@/components/ui'
import { formatBytes, formatCount } from '@/lib/format'
import { download, fetchOutputs, isActive, runKeys, type Run } from './queries'
import { ExportMenu } from '@/components/ExportMenu'

export function Outputs({ run }: { run: Run }) {
  const outputs = useQuery({ queryKey: runKeys.outputs(run.id), queryFn: () => fetchOutputs(run.id), enabled: !isActive(run.status) })
  const [busy, setBusy] = useState<string | null>(null)
  const [err, setErr] = useState<{ node: string; error: unknown } | null>(null)
  if (isActive(run.status)) return <EmptyState title="Outputs appear when the run finishes" icon={<FileOutput className="size-6" aria-hidden />} />
  if (outputs.isError) return <ErrorState error={outputs.error} retry={() => void outputs.refetch()} title="Could not list the outputs" />
  if (outputs.isPending) return <Skeleton className="h-24 w-full" />
  if (!outputs.data.length)
    return (
      <EmptyState title="No file outputs" icon={<FileOutput className="size-6" aria-hidden />}>
        This run's destinations are not files (or it wrote nothing).
      </EmptyState>
    )
  return (
    <Table label="File outputs">
      <thead>
        <tr>
          <Th>Destination</Th>
          <Th>File</Th>
          <Th className="text-right">Rows</Th>
          <Th className="text-right">Size</Th>
          <Th />
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
        {outputs.data.map((o) => (
          <tr key={o.node}>
            <Td className="font-medium">{o.node}</Td>
            <Td className="font-mono text-xs text-slate-600 dark:text-slate-300">{o.path || o.name}</Td>
            <Td className="text-right tabular-nums">{formatCount(o.rows)}</Td>
            <Td className="text-right tabular-nums">{formatBytes(o.bytes)}</Td>
            <Td className="text-right">
              <Button
                size="sm"
                icon={<Download className="size-3.5" aria-hidden />}
                aria-label={`Download ${o.name}`}
                disabled={!o.path}
                title={o.path ? undefined : 'Written outside the data directory: not downloadable'}
                loading={busy === o.node}
                onClick={async () => {
                  setBusy(o.node)
                  setErr(null)
                  try {
                    await download(`/api/v1/runs/${encodeURIComponent(run.id)}/outputs/${encodeURIComponent(o.node)}`, o.name)
                  } catch (e) {
                    setErr({ node: o.node, error: e })
                  } finally {
                    setBusy(null)
                  }
                }}
              >
                Download
              </Button>{' '}
              <ExportMenu
                label={`Export ${o.name}`}
                disabled={!o.path}
                busy={busy === `${o.node}:export`}
                onPick={async (f) => {
                  setBusy(`${o.node}:export`)
                  setErr(null)
                  try {
                    const base = o.name.replace(/\.[^.]*$/, '')
                    await download(`/api/v1/runs/${encodeURIComponent(run.id)}/outputs/${encodeURIComponent(o.node)}?format=${f}`, `${base}.${f}`)
                  } catch (e) {
                    setErr({ node: o.node, error: e })
                  } finally {
                    setBusy(null)
                  }
                }}
              />
              {err?.node === o.node && <div className="mt-2 text-left"><InlineError error={err.error} /></div>}
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  )
}
