import { Suspense, useEffect, useRef, useState } from 'react'
import { NavLink, Outlet, useNavigate, Link } from 'react-router'
import { Menu, Search, Sun, Moon, Monitor, LogOut, UserRound, ChevronDown } from 'lucide-react'
import { navItems } from './nav'
import { useSession, useCan } from '@/auth/session'
import { usePrefs, useServerPrefs, type Theme } from './prefs'
import { CommandPalette, useCommandPalette } from './CommandPalette'
import { Logo } from '@/components/Logo'
import { Spinner } from '@/components/ui'
import { cn } from '@/lib/cn'
import { MustChangePassword } from '@/features/profile/MustChangePassword'

export function Shell() {
  const can = useCan()
  const [open, setOpen] = useState(false)
  const palette = useCommandPalette()
  useServerPrefs()
  // A user with a temporary password may do nothing else until they choose their own (the server
  // refuses every other route): the page asks for it first.
  const mustChange = useSession((s) => !!s.me?.must_change_password)
  const sections = ['Overview', 'Build', 'Operate', 'Analyze', 'Administration'] as const
  return (
    <div className="flex h-full">
      {open && <div className="fixed inset-0 z-30 bg-slate-900/40 lg:hidden" onClick={() => setOpen(false)} aria-hidden />}
      <aside
        className={cn(
          'fixed inset-y-0 left-0 z-40 flex w-60 flex-col border-r border-slate-200 bg-white transition-transform dark:border-slate-800 dark:bg-slate-900 lg:static lg:translate-x-0',
          open ? 'translate-x-0' : '-translate-x-full',
        )}
      >
        <div className="flex h-14 items-center px-4">
          <Link to="/" className="rounded-md" aria-label="Data Aggregator home">
            <Logo />
          </Link>
        </div>
        <nav aria-label="Main" className="flex-1 space-y-6 overflow-y-auto px-3 py-4">
          {sections.map((section) => {
            const items = navItems.filter((i) => i.section === section && can(i.permission))
            if (!items.length) return null
            return (
              <div key={section} className="space-y-1">
                <p className="px-2 text-[11px] font-semibold uppercase tracking-wider text-slate-400 dark:text-slate-500">{section}</p>
                {items.map((item) => (
                  <NavLink
                    key={item.to}
                    to={item.to}
                    end={item.to === '/'}
                    onClick={() => setOpen(false)}
                    className={({ isActive }) =>
                      cn(
                        'flex items-center gap-2.5 rounded-md px-2 py-1.5 text-sm font-medium transition-colors',
                        isActive
                          ? 'bg-brand-50 text-brand-700 dark:bg-brand-500/10 dark:text-brand-300'
                          : 'text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white',
                      )
                    }
                  >
                    <item.icon className="size-4" aria-hidden />
                    {item.label}
                  </NavLink>
                ))}
              </div>
            )
          })}
        </nav>
        <div className="border-t border-slate-200 p-3 text-xs text-slate-400 dark:border-slate-800">
          <a href="/docs" className="hover:text-slate-600 dark:hover:text-slate-300" target="_blank" rel="noreferrer">
            API reference
          </a>
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 shrink-0 items-center gap-3 border-b border-slate-200 bg-white px-4 dark:border-slate-800 dark:bg-slate-900">
          <button
            type="button"
            className="rounded-md p-1.5 text-slate-500 hover:bg-slate-100 lg:hidden dark:hover:bg-slate-800"
            aria-label="Open navigation"
            onClick={() => setOpen(true)}
          >
            <Menu className="size-5" aria-hidden />
          </button>
          <button
            type="button"
            onClick={palette.open}
            className="flex h-9 w-full max-w-md items-center gap-2 rounded-md bg-slate-100 px-3 text-sm text-slate-500 hover:bg-slate-200/70 dark:bg-slate-800 dark:text-slate-400 dark:hover:bg-slate-700"
            aria-label="Search pipelines, runs and connectors"
          >
            <Search className="size-4" aria-hidden />
            <span className="flex-1 text-left">Search pipelines, runs, connectors…</span>
            <kbd className="hidden rounded border border-slate-300 px-1.5 text-[10px] font-medium sm:inline dark:border-slate-600">Ctrl K</kbd>
          </button>
          <div className="ml-auto flex items-center gap-1">
            <ThemeToggle />
            <UserMenu />
          </div>
        </header>
        <main className="min-h-0 flex-1 overflow-y-auto">
          <Suspense fallback={<Spinner />}>
            {mustChange ? <MustChangePassword /> : <Outlet />}
          </Suspense>
        </main>
      </div>
      <CommandPalette state={palette} />
    </div>
  )
}

const themeIcons: Record<Theme, typeof Sun> = { light: Sun, dark: Moon, system: Monitor }
const nextTheme: Record<Theme, Theme> = { light: 'dark', dark: 'system', system: 'light' }

function ThemeToggle() {
  const theme = usePrefs((s) => s.theme)
  const setTheme = usePrefs((s) => s.setTheme)
  const Icon = themeIcons[theme]
  return (
    <button
      type="button"
      onClick={() => setTheme(nextTheme[theme])}
      aria-label={`Theme: ${theme}. Switch to ${nextTheme[theme]}`}
      title={`Theme: ${theme}`}
      className="rounded-md p-2 text-slate-500 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white"
    >
      <Icon className="size-4" aria-hidden />
    </button>
  )
}

function UserMenu() {
  const me = useSession((s) => s.me)
  const signOut = useSession((s) => s.signOut)
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!open) return
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !ref.current?.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('mousedown', close)
    document.addEventListener('keydown', close)
    return () => {
      document.removeEventListener('mousedown', close)
      document.removeEventListener('keydown', close)
    }
  }, [open])
  if (!me) return null
  const initials = (me.full_name || me.username).slice(0, 2).toUpperCase()
  return (
    <div className="relative" ref={ref}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="User menu"
        onClick={() => setOpen((v) => !v)}
        className="flex items-center gap-2 rounded-md py-1 pl-1 pr-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
      >
        <span className="flex size-7 items-center justify-center rounded-full bg-brand-600 text-xs font-semibold text-white">{initials}</span>
        <span className="hidden text-left leading-tight sm:block">
          <span className="block font-medium">{me.full_name || me.username}</span>
          <span className="block text-xs capitalize text-slate-500 dark:text-slate-400">{me.role}</span>
        </span>
        <ChevronDown className="size-4 text-slate-400" aria-hidden />
      </button>
      {open && (
        <div role="menu" className="absolute right-0 z-50 mt-1 w-52 rounded-lg bg-white py-1 shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-800 dark:ring-slate-700">
          <button
            role="menuitem"
            type="button"
            className="flex w-full items-center gap-2 px-3 py-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-700"
            onClick={() => {
              setOpen(false)
              navigate('/profile')
            }}
          >
            <UserRound className="size-4" aria-hidden /> Profile and preferences
          </button>
          <button
            role="menuitem"
            type="button"
            className="flex w-full items-center gap-2 px-3 py-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-700"
            onClick={async () => {
              setOpen(false)
              await signOut()
              navigate('/sign-in', { replace: true })
            }}
          >
            <LogOut className="size-4" aria-hidden /> Sign out
          </button>
        </div>
      )}
    </div>
  )
}
