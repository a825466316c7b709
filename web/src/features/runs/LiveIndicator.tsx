import { useLiveStatus } from './useLive'
import { cn } from '@/lib/cn'

/** "Live" while the WebSocket is open; otherwise says that the page refreshes by polling. */
export function LiveIndicator() {
  const s = useLiveStatus()
  const open = s === 'open'
  return (
    <span
      role="status"
      title={open ? 'Live updates are on' : s === 'reconnecting' ? 'Live updates lost: reconnecting; meanwhile the page refreshes every few seconds' : 'Live updates unavailable: the page refreshes every few seconds'}
      className="inline-flex items-center gap-1.5 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600 dark:bg-slate-800 dark:text-slate-300"
    >
      <span className={cn('size-1.5 rounded-full', open ? 'animate-pulse bg-emerald-500' : 'bg-amber-500')} aria-hidden />
      {open ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Polling'}
    </span>
  )
}
