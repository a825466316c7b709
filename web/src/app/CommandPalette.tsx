// Ctrl/Cmd-K: jump to any pipeline, run or connector (searched on the server), or to a page.
import { useCallback, useEffect, useMemo, useState } from 'react'
import { useNavigate } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { Search, Workflow, PlayCircle, Plug, CornerDownLeft } from 'lucide-react'
import { createPortal } from 'react-dom'
import { api, unwrap } from '@/api/client'
import { useCan } from '@/auth/session'
import { navItems } from './nav'
import { cn } from '@/lib/cn'
import { relativeTime } from '@/lib/format'
import { shortId } from '@/features/runs/format'

export interface PaletteState {
  isOpen: boolean
  open: () => void
  close: () => void
}

export function useCommandPalette(): PaletteState {
  const [isOpen, setOpen] = useState(false)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault()
        setOpen((v) => !v)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])
  return { isOpen, open: useCallback(() => setOpen(true), []), close: useCallback(() => setOpen(false), []) }
}

interface Item {
  key: string
  label: string
  hint: string
  to: string
  icon: typeof Search
}

export function CommandPalette({ state }: { state: PaletteState }) {
  if (!state.isOpen) return null
  return createPortal(<Palette close={state.close} />, document.body)
}

function useDebounced<T>(v: T, ms: number): T {
  const [d, setD] = useState(v)
  useEffect(() => {
    const t = setTimeout(() => setD(v), ms)
    return () => clearTimeout(t)
  }, [v, ms])
  return d
}

function Palette({ close }: { close: () => void }) {
  const navigate = useNavigate()
  const can = useCan()
  const [q, setQ] = useState('')
  const [active, setActive] = useState(0)
  const term = useDebounced(q.trim(), 150)

  const pipelines = useQuery({
    queryKey: ['palette', 'pipelines', term],
    enabled: can('pipelines:read'),
    queryFn: () => unwrap(api.GET('/api/v1/pipelines', { params: { query: { search: term, per_page: 8 } } })),
  })
  const connectors = useQuery({
    queryKey: ['palette', 'connectors'],
    enabled: can('connectors:read'),
    queryFn: () => unwrap(api.GET('/api/v1/connectors', { params: { query: { per_page: 200 } } })),
  })
  const runs = useQuery({
    queryKey: ['palette', 'runs'],
    enabled: can('runs:read'),
    queryFn: () => unwrap(api.GET('/api/v1/runs', { params: { query: { per_page: 20 } } })),
  })

  const items = useMemo<Item[]>(() => {
    const t = term.toLowerCase()
    const match = (s: string) => !t || s.toLowerCase().includes(t)
    const out: Item[] = []
    for (const n of navItems) {
      if (can(n.permission) && match(n.label)) out.push({ key: 'nav' + n.to, label: n.label, hint: 'Page', to: n.to, icon: n.icon })
    }
    for (const p of pipelines.data?.items ?? []) {
      out.push({ key: 'p' + p.id, label: p.name, hint: 'Pipeline', to: `/pipelines/${p.id}`, icon: Workflow })
    }
    for (const c of (connectors.data?.items ?? []).filter((c) => match(c.name) || match(c.type)).slice(0, 8)) {
      out.push({ key: 'c' + c.id, label: c.name, hint: `Connector · ${c.type}`, to: `/connectors/${c.id}`, icon: Plug })
    }
    for (const r of (runs.data?.items ?? []).filter((r) => match(r.id) || match(r.status)).slice(0, 8)) {
      out.push({
        key: 'r' + r.id,
        label: `Run ${shortId(r.id)} · ${r.status}`,
        hint: relativeTime(r.created_at),
        to: `/runs/${r.id}`,
        icon: PlayCircle,
      })
    }
    return out
  }, [term, pipelines.data, connectors.data, runs.data, can])

  useEffect(() => setActive(0), [term])

  function go(i: number) {
    const it = items[i]
    if (!it) return
    close()
    navigate(it.to)
  }

  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-slate-900/50 p-4 pt-[12vh]" onMouseDown={close}>
      <div
        role="dialog"
        aria-modal="true"
        aria-label="Command palette"
        onMouseDown={(e) => e.stopPropagation()}
        className="w-full max-w-xl overflow-hidden rounded-xl bg-white shadow-2xl ring-1 ring-slate-900/10 dark:bg-slate-900 dark:ring-slate-700"
      >
        <div className="flex items-center gap-2 border-b border-slate-200 px-4 dark:border-slate-800">
          <Search className="size-4 text-slate-400" aria-hidden />
          <input
            autoFocus
            aria-label="Search"
            role="combobox"
            aria-expanded="true"
            aria-controls="palette-list"
            aria-activedescendant={items[active] ? `palette-${items[active].key}` : undefined}
            placeholder="Jump to a pipeline, run, connector or page…"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown') {
                e.preventDefault()
                setActive((a) => Math.min(items.length - 1, a + 1))
              } else if (e.key === 'ArrowUp') {
                e.preventDefault()
                setActive((a) => Math.max(0, a - 1))
              } else if (e.key === 'Enter') {
                e.preventDefault()
                go(active)
              } else if (e.key === 'Escape') close()
            }}
            className="h-12 flex-1 bg-transparent text-sm outline-none placeholder:text-slate-400"
          />
        </div>
        <ul id="palette-list" role="listbox" aria-label="Results" className="max-h-[50vh] overflow-y-auto p-2">
          {items.length === 0 && <li className="px-3 py-6 text-center text-sm text-slate-500">No matches</li>}
          {items.map((it, i) => (
            <li
              key={it.key}
              id={`palette-${it.key}`}
              role="option"
              aria-selected={i === active}
              onMouseEnter={() => setActive(i)}
              onClick={() => go(i)}
              className={cn(
                'flex cursor-pointer items-center gap-3 rounded-md px-3 py-2 text-sm',
                i === active ? 'bg-brand-50 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200' : 'text-slate-700 dark:text-slate-300',
              )}
            >
              <it.icon className="size-4 shrink-0 opacity-70" aria-hidden />
              <span className="flex-1 truncate">{it.label}</span>
              <span className="text-xs text-slate-400">{it.hint}</span>
              {i === active && <CornerDownLeft className="size-3.5 text-slate-400" aria-hidden />}
            </li>
          ))}
        </ul>
      </div>
    </div>
  )
}
