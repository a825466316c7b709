import { PageHeader } from '@/components/ui'
import { useCan } from '@/auth/session'
import { SecretManagersCard } from '@/features/settings/SecretManagersCard'
import { CleanupNowCard, RetentionCard } from '@/features/settings/RetentionCard'

/** Administration > Settings: how long data is kept, and the clean-up that deletes what is older. */
export default function AdminSettings() {
  const can = useCan()
  return (
    <div>
      <PageHeader
        title="Settings"
        description="How long the platform keeps runs, logs and files, the clean-up that removes what is older, and the secret managers connectors read their credentials from."
      />
      <div className="mx-auto grid max-w-5xl gap-6 p-6">
        <RetentionCard />
        <CleanupNowCard />
        <SecretManagersCard editable={can('settings:write')} />
      </div>
    </div>
  )
}
