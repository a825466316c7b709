import { cn } from '@/lib/cn'

export function Logo({ className, compact }: { className?: string; compact?: boolean }) {
  return (
    <span className={cn('inline-flex items-center gap-2 font-semibold tracking-tight', className)}>
      <svg viewBox="0 0 32 32" className="size-7 shrink-0" aria-hidden>
        <rect width="32" height="32" rx="7" className="fill-brand-600" />
        <path d="M8 10h9a5 5 0 010 10H8z" fill="none" stroke="#fff" strokeWidth="2.5" />
        <circle cx="23" cy="22" r="3" fill="#a5b4fc" />
      </svg>
      {!compact && <span>Data Aggregator</span>}
    </span>
  )
}
