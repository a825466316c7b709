// Toasts for background results (a run finished, a save failed). toast.success/error/info from anywhere.
import { create } from 'zustand'
import { CheckCircle2, Info, XCircle, X } from 'lucide-react'
import { cn } from '@/lib/cn'

export type ToastKind = 'success' | 'error' | 'info'
export interface Toast {
  id: number
  kind: ToastKind
  title: string
  body?: string
}

interface ToastState {
  toasts: Toast[]
  push: (t: Omit<Toast, 'id'>) => void
  dismiss: (id: number) => void
}

let next = 1
export const useToasts = create<ToastState>()((set, get) => ({
  toasts: [],
  push(t) {
    const id = next++
    set({ toasts: [...get().toasts.slice(-4), { ...t, id }] })
    setTimeout(() => get().dismiss(id), t.kind === 'error' ? 8000 : 4500)
  },
  dismiss(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) })
  },
}))

export const toast = {
  success: (title: string, body?: string) => useToasts.getState().push({ kind: 'success', title, body }),
  error: (title: string, body?: string) => useToasts.getState().push({ kind: 'error', title, body }),
  info: (title: string, body?: string) => useToasts.getState().push({ kind: 'info', title, body }),
}

const icons = { success: CheckCircle2, error: XCircle, info: Info }
const colors = { success: 'text-emerald-500', error: 'text-rose-500', info: 'text-sky-500' }

export function Toaster() {
  const { toasts, dismiss } = useToasts()
  return (
    <div aria-live="polite" className="pointer-events-none fixed bottom-4 right-4 z-[60] flex w-80 flex-col gap-2">
      {toasts.map((t) => {
        const Icon = icons[t.kind]
        return (
          <div
            key={t.id}
            role={t.kind === 'error' ? 'alert' : 'status'}
            className="pointer-events-auto flex items-start gap-3 rounded-lg bg-white p-3 shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-800 dark:ring-slate-700"
          >
            <Icon className={cn('mt-0.5 size-5 shrink-0', colors[t.kind])} aria-hidden />
            <div className="min-w-0 flex-1 text-sm">
              <p className="font-medium">{t.title}</p>
              {t.body && <p className="mt-0.5 break-words text-slate-500 dark:text-slate-400">{t.body}</p>}
            </div>
            <button type="button" aria-label="Dismiss" onClick={() => dismiss(t.id)} className="text-slate-400 hover:text-slate-600">
              <X className="size-4" aria-hidden />
            </button>
          </div>
        )
      })}
    </div>
  )
}
