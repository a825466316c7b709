import { PageHeader } from '@/components/ui'
import { PasswordCard } from './PasswordCard'

/** Shown instead of every page while the signed-in user still has a temporary password. */
export function MustChangePassword() {
  return (
    <div>
      <PageHeader title="Choose a new password" description="An administrator set a temporary password for you. Choose your own to continue." />
      <div className="mx-auto max-w-lg p-6">
        <PasswordCard />
      </div>
    </div>
  )
}
