// Pipelines as code (docs/pipelines-as-code.md): an object that `aggregator apply` wrote from a file
// says so, and says when it has been changed here since (drift).
import { FileCode2, GitCompareArrows } from 'lucide-react'
import type { components } from '@/api/schema'
import { relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'

export type Managed = components['schemas']['ManagedFrom']

function who(m: Managed) {
  return `${m.applied_by ? `applied by ${m.applied_by} ` : 'applied '}${relativeTime(m.applied_at)}`
}

/** A small badge for lists and headers: "From file", or "Drifted" when changed here since the last apply. */
export function ManagedBadge({ managed, className }: { managed?: Managed | null; className?: string }) {
  if (!managed) return null
  const drifted = managed.drifted === true
  return (
    <span
      title={drifted
        ? `Changed here since ${managed.path} was applied (${who(managed)})`
        : `Managed from ${managed.path} (${who(managed)})`}
      className={cn(
        'inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-[11px] font-medium ring-1 ring-inset',
        drifted
          ? 'bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/30'
          : 'bg-violet-50 text-violet-700 ring-violet-600/20 dark:bg-violet-500/10 dark:text-violet-300 dark:ring-violet-400/30',
        className,
      )}
    >
      {drifted ? <GitCompareArrows className="size-3" aria-hidden /> : <FileCode2 className="size-3" aria-hidden />}
      {drifted ? 'Drifted from file' : 'From file'}
    </span>
  )
}

/** The banner of a detail page: where the object comes from and what editing it here means. */
export function ManagedBanner({ managed, kind }: { managed?: Managed | null; kind: 'pipeline' | 'connector' | 'transformation' }) {
  if (!managed) return null
  const drifted = managed.drifted === true
  return (
    <div
      role="note"
      aria-label="Managed from a file"
      className={cn(
        'flex items-start gap-3 rounded-lg border px-4 py-3 text-sm',
        drifted
          ? 'border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-200'
          : 'border-violet-200 bg-violet-50 text-violet-900 dark:border-violet-500/30 dark:bg-violet-500/10 dark:text-violet-200',
      )}
    >
      {drifted ? <GitCompareArrows className="mt-0.5 size-4 shrink-0" aria-hidden /> : <FileCode2 className="mt-0.5 size-4 shrink-0" aria-hidden />}
      <div className="min-w-0 space-y-0.5">
        <p className="font-medium">
          {drifted ? 'Changed here since it was applied from ' : `This ${kind} is managed from `}
          <code className="rounded bg-white/60 px-1 font-mono text-[12px] dark:bg-black/20">{managed.path}</code>
          <span className="font-normal opacity-80"> · {who(managed)}</span>
        </p>
        <p className="opacity-80">
          {drifted
            ? <>The file no longer says what the server holds. Run <code className="font-mono text-[12px]">aggregator export</code> to write this change to the file, or <code className="font-mono text-[12px]">aggregator apply</code> to replace it with the file.</>
            : <>You can still edit it here; the change then shows as drift until the file is updated (<code className="font-mono text-[12px]">aggregator export</code>).</>}
        </p>
      </div>
    </div>
  )
}
