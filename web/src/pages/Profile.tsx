import { PageHeader, Badge, Card } from '@/components/ui'
import { DefinitionList } from '@/components/ui/controls'
import { useSession, useCan } from '@/auth/session'
import { formatTime } from '@/lib/format'
import { PasswordCard } from '@/features/profile/PasswordCard'
import { PreferencesCard } from '@/features/profile/PreferencesCard'
import { TokensCard } from '@/features/profile/TokensCard'

export default function Profile() {
  const me = useSession((s) => s.me)
  const can = useCan()
  if (!me) return null
  return (
    <div>
      <PageHeader title="Profile and preferences" description="Your account, how the app looks, and your API tokens." />
      <div className="mx-auto grid max-w-5xl gap-6 p-6 lg:grid-cols-2">
        <Card className="p-5 lg:col-span-2">
          <div className="flex flex-wrap items-center gap-4">
            <span className="flex size-12 items-center justify-center rounded-full bg-brand-600 text-base font-semibold text-white" aria-hidden>
              {(me.full_name || me.username).slice(0, 2).toUpperCase()}
            </span>
            <div className="min-w-0 flex-1">
              <p className="text-base font-semibold">{me.full_name || me.username}</p>
              <p className="text-sm text-slate-500 dark:text-slate-400">{me.email}</p>
            </div>
            <Badge tone="violet" className="capitalize">{me.role}</Badge>
          </div>
          <DefinitionList
            className="mt-4"
            items={[
              ['Username', me.username],
              ['Last sign-in', formatTime(me.last_login_at)],
              ['Member since', formatTime(me.created_at)],
            ]}
          />
        </Card>
        {can('profile:self') && me.token_kind === 'access' && <PasswordCard />}
        {can('preferences:self') && <PreferencesCard />}
        {can('tokens:self') && (
          <div className="lg:col-span-2">
            <TokensCard />
          </div>
        )}
      </div>
    </div>
  )
}
