import { useMemo, useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { SlidersHorizontal } from 'lucide-react'
import { Button, Card, ErrorState, Field, InlineError, Select, Skeleton } from '@/components/ui'
import { toast } from '@/components/toasts'
import { fetchPrefs, prefsQueryKey, savePrefs, type ServerPrefs, type Theme } from '@/app/prefs'
import { fieldMessage } from '@/features/admin/fieldMessage'

/** Languages offered (BCP 47); the server accepts any valid tag. */
export const languages: Array<[string, string]> = [
  ['en', 'English'],
  ['de', 'Deutsch'],
  ['fr', 'Français'],
  ['es', 'Español'],
  ['it', 'Italiano'],
  ['pt', 'Português'],
  ['nl', 'Nederlands'],
  ['pl', 'Polski'],
  ['sv', 'Svenska'],
  ['ja', '日本語'],
  ['zh', '中文'],
]

/** Every IANA time zone the browser knows, UTC first. */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  const all = intl.supportedValuesOf?.('timeZone') ?? []
  return ['UTC', ...all.filter((z) => z !== 'UTC')]
}

/** Theme, time zone and language, saved with PUT /api/v1/me/preferences and applied at once. */
export function PreferencesCard() {
  const q = useQuery({ queryKey: prefsQueryKey, queryFn: fetchPrefs })
  return (
    <Card>
      <div className="space-y-4 p-5">
        <div className="flex items-center gap-2">
          <SlidersHorizontal className="size-4 text-slate-400" aria-hidden />
          <h2 className="text-base font-semibold">Preferences</h2>
        </div>
        {q.isPending ? (
          <div className="space-y-3">
            <Skeleton className="h-9" />
            <Skeleton className="h-9" />
            <Skeleton className="h-9" />
          </div>
        ) : q.isError ? (
          <ErrorState error={q.error} retry={() => void q.refetch()} title="Your preferences could not be loaded" />
        ) : (
          <PreferencesForm initial={q.data} />
        )}
      </div>
    </Card>
  )
}

function PreferencesForm({ initial }: { initial: ServerPrefs }) {
  const qc = useQueryClient()
  const [theme, setTheme] = useState<Theme>(initial.theme)
  const [timezone, setTimezone] = useState(initial.timezone || 'UTC')
  const [language, setLanguage] = useState(initial.language || 'en')
  const zones = useMemo(() => {
    const z = timeZones()
    return z.includes(timezone) ? z : [timezone, ...z]
  }, [timezone])
  const langs = useMemo(() => (languages.some(([c]) => c === language) ? languages : [[language, language] as [string, string], ...languages]), [language])
  const save = useMutation({
    mutationFn: () => savePrefs({ theme, timezone, language }),
    onSuccess: (p) => {
      qc.setQueryData(prefsQueryKey, p)
      toast.success('Preferences saved')
    },
  })
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone
  const submit = (e: FormEvent) => {
    e.preventDefault()
    save.mutate()
  }
  const tzErr = fieldMessage(save.error, 'body.timezone')
  const langErr = fieldMessage(save.error, 'body.language')
  const themeErr = fieldMessage(save.error, 'body.theme')
  return (
    <form onSubmit={submit} className="space-y-4">
      <Field label="Theme" error={themeErr}>
        {(p) => (
          <Select {...p} value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </Select>
        )}
      </Field>
      <Field
        label="Time zone"
        error={tzErr}
        help={
          browserZone && browserZone !== timezone ? (
            <>
              Times are shown in this zone. Your browser is in{' '}
              <button type="button" className="text-brand-600 underline-offset-2 hover:underline dark:text-brand-400" onClick={() => setTimezone(browserZone)}>
                {browserZone}
              </button>
              .
            </>
          ) : (
            'Times are shown in this zone.'
          )
        }
      >
        {(p) => (
          <Select {...p} value={timezone} onChange={(e) => setTimezone(e.target.value)}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z.replaceAll('_', ' ')}
              </option>
            ))}
          </Select>
        )}
      </Field>
      <Field label="Language" error={langErr}>
        {(p) => (
          <Select {...p} value={language} onChange={(e) => setLanguage(e.target.value)}>
            {langs.map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </Select>
        )}
      </Field>
      <InlineError error={save.error && !tzErr && !langErr && !themeErr ? save.error : null} />
      <div className="flex justify-end">
        <Button type="submit" variant="primary" loading={save.isPending}>
          Save preferences
        </Button>
      </div>
    </form>
  )
}
