// The navigation: one entry per area, each with the permission (the server's table, from /auth/me)
// a role needs to see it. A later capability (schedules, alerts, dashboards) adds its entry here and
// its routes in routes.tsx.
import type { LucideIcon } from 'lucide-react'
import { LayoutDashboard, Workflow, PlayCircle, Plug, Upload, Users, ScrollText, Settings, Server, BellRing, DatabaseZap, Activity, FileText } from 'lucide-react'
import type { Permission } from '@/auth/session'

export interface NavItem {
  to: string
  label: string
  icon: LucideIcon
  permission: Permission
  section: 'Overview' | 'Build' | 'Operate' | 'Analyze' | 'Administration'
}

export const navItems: NavItem[] = [
  { to: '/', label: 'Dashboard', icon: LayoutDashboard, permission: 'analytics:read', section: 'Overview' },
  { to: '/pipelines', label: 'Pipelines', icon: Workflow, permission: 'pipelines:read', section: 'Build' },
  { to: '/connectors', label: 'Connectors', icon: Plug, permission: 'connectors:read', section: 'Build' },
  { to: '/uploads', label: 'Uploads', icon: Upload, permission: 'files:read', section: 'Build' },
  { to: '/runs', label: 'Runs', icon: PlayCircle, permission: 'runs:read', section: 'Operate' },
  // workers:read comes with GET /api/v1/workers; until the server declares it, no role holds it.
  { to: '/workers', label: 'Workers', icon: Server, permission: 'workers:read', section: 'Operate' },
  { to: '/alerts', label: 'Alerts', icon: BellRing, permission: 'alerts:read', section: 'Operate' },
  { to: '/queries', label: 'Queries', icon: DatabaseZap, permission: 'analytics:query', section: 'Analyze' },
  { to: '/admin/users', label: 'Users', icon: Users, permission: 'users:read', section: 'Administration' },
  { to: '/admin/audit', label: 'Audit log', icon: ScrollText, permission: 'audit:read', section: 'Administration' },
  { to: '/admin/settings', label: 'Settings', icon: Settings, permission: 'settings:read', section: 'Administration' },
  { to: '/admin/system', label: 'System', icon: Activity, permission: 'settings:read', section: 'Administration' },
  { to: '/admin/system-logs', label: 'System logs', icon: FileText, permission: 'system_logs:read', section: 'Administration' },
]
