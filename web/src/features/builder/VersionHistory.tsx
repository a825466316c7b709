// Version history of a saved pipeline with a line diff of any two versions (unified).
import { useEffect, useMemo, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { Dialog, ErrorState, Select, Field, Spinner, EmptyState } from '@/components/ui'
import { formatTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import { listVersions, pipelineKeys } from '@/features/pipelines/api'
import { lineDiff } from './diff'

export function VersionHistory({ id, open, onClose }: { id: string; open: boolean; onClose: () => void }) {
  const q = useQuery({ queryKey: pipelineKeys.versions(id), queryFn: () => listVersions(id), enabled: open })
  const versions = useMemo(() => q.data?.items ?? [], [q.data])
  const [a, setA] = useState<number | null>(null)
  const [b, setB] = useState<number | null>(null)
  useEffect(() => {
    if (versions.length) {
      setB(versions[0].version)
      setA(versions[Math.min(1, versions.length - 1)].version)
    }
  }, [versions])
  const va = versions.find((v) => v.version === a)
  const vb = versions.find((v) => v.version === b)
  const diff = useMemo(() => (va && vb ? lineDiff(va.spec_text, vb.spec_text) : []), [va, vb])
  const changed = diff.filter((d) => d.op !== 'same').length

  return (
    <Dialog open={open} onClose={onClose} title="Version history" wide>
      {q.isLoading ? (
        <Spinner />
      ) : q.error ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} />
      ) : versions.length === 0 ? (
        <EmptyState title="No versions yet" />
      ) : (
        <div className="space-y-4">
          <ol aria-label="Versions" className="max-h-40 space-y-1 overflow-y-auto text-sm">
            {versions.map((v) => (
              <li key={v.version} className="flex items-center justify-between rounded-md px-2 py-1 hover:bg-slate-50 dark:hover:bg-slate-800">
                <span>
                  <span className="font-medium">v{v.version}</span>
                  {v.comment && <span className="ml-2 text-slate-500">{v.comment}</span>}
                </span>
                <span className="text-xs text-slate-500">
                  {v.created_by} · {formatTime(v.created_at)}
                </span>
              </li>
            ))}
          </ol>
          <div className="grid grid-cols-2 gap-3">
            <Field label="Compare">
              {(p) => (
                <Select {...p} value={a ?? ''} onChange={(e) => setA(Number(e.target.value))}>
                  {versions.map((v) => (
                    <option key={v.version} value={v.version}>
                      v{v.version}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="With">
              {(p) => (
                <Select {...p} value={b ?? ''} onChange={(e) => setB(Number(e.target.value))}>
                  {versions.map((v) => (
                    <option key={v.version} value={v.version}>
                      v{v.version}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          </div>
          <p className="text-xs text-slate-500">{changed === 0 ? 'No differences.' : `${changed} changed line${changed === 1 ? '' : 's'}`}</p>
          <pre aria-label="Diff" className="max-h-96 overflow-auto rounded-md border border-slate-200 bg-slate-50 py-2 font-mono text-xs dark:border-slate-700 dark:bg-slate-950">
            {diff.map((d, i) => (
              <div
                key={i}
                className={cn(
                  'flex px-2',
                  d.op === 'add' && 'bg-emerald-50 text-emerald-800 dark:bg-emerald-500/10 dark:text-emerald-300',
                  d.op === 'del' && 'bg-rose-50 text-rose-800 dark:bg-rose-500/10 dark:text-rose-300',
                )}
              >
                <span className="w-8 shrink-0 select-none text-right text-slate-400">{d.a ?? ''}</span>
                <span className="w-8 shrink-0 select-none text-right text-slate-400">{d.b ?? ''}</span>
                <span className="w-5 shrink-0 select-none text-center">{d.op === 'add' ? '+' : d.op === 'del' ? '−' : ' '}</span>
                <span className="whitespace-pre">{d.text}</span>
              </div>
            ))}
          </pre>
        </div>
      )}
    </Dialog>
  )
}
