// The time-range picker: four presets and a custom from/to (local date and time inputs).
import { useState } from 'react'
import { CalendarRange } from 'lucide-react'
import { Button, Dialog, Field, Input, InlineError } from '@/components/ui'
import { cn } from '@/lib/cn'
import { PRESETS, type RangeSpec } from './model'

function toLocalInput(iso: string): string {
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function RangePicker({ value, onChange }: { value: RangeSpec; onChange: (r: RangeSpec) => void }) {
  const [open, setOpen] = useState(false)
  const now = Date.now()
  const [from, setFrom] = useState(() => toLocalInput(value.preset === 'custom' ? value.from : new Date(now - 86_400_000).toISOString()))
  const [to, setTo] = useState(() => toLocalInput(value.preset === 'custom' ? value.to : new Date(now).toISOString()))
  const [error, setError] = useState<string | null>(null)
  const apply = () => {
    const f = Date.parse(from)
    const t = Date.parse(to)
    if (Number.isNaN(f) || Number.isNaN(t)) return setError('Enter both a start and an end.')
    if (f >= t) return setError('The start must be before the end.')
    if (t - f > 400 * 86_400_000) return setError('Pick a range of at most 400 days.')
    setError(null)
    setOpen(false)
    onChange({ preset: 'custom', from: new Date(f).toISOString(), to: new Date(t).toISOString() })
  }
  const btn = (active: boolean) =>
    cn(
      'h-8 px-3 text-xs font-medium transition-colors first:rounded-l-md last:rounded-r-md',
      active
        ? 'bg-brand-600 text-white'
        : 'bg-white text-slate-600 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-300 dark:hover:bg-slate-700',
    )
  return (
    <>
      <div role="group" aria-label="Time range" className="inline-flex divide-x divide-slate-200 rounded-md shadow-sm ring-1 ring-slate-300 dark:divide-slate-700 dark:ring-slate-700">
        {PRESETS.map((p) => (
          <button key={p.value} type="button" className={btn(value.preset === p.value)} aria-pressed={value.preset === p.value} title={p.label} onClick={() => onChange({ preset: p.value })}>
            {p.value}
          </button>
        ))}
        <button type="button" className={cn(btn(value.preset === 'custom'), 'inline-flex items-center gap-1')} aria-pressed={value.preset === 'custom'} onClick={() => setOpen(true)}>
          <CalendarRange className="size-3.5" aria-hidden /> Custom
        </button>
      </div>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        title="Custom time range"
        footer={
          <>
            <Button onClick={() => setOpen(false)}>Cancel</Button>
            <Button variant="primary" onClick={apply}>Apply</Button>
          </>
        }
      >
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="From">{(p) => <Input {...p} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />}</Field>
          <Field label="To">{(p) => <Input {...p} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />}</Field>
        </div>
        {error && <div className="mt-3"><InlineError error={new Error(error)} /></div>}
      </Dialog>
    </>
  )
}
