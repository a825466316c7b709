// Every page of the app, lazy-loaded so that the sign-in page stays small (the builder, with the
// canvas and the editors, is its own chunk). A new area adds its routes here and its entry in nav.ts.
import { lazy } from 'react'
import { Navigate, type RouteObject } from 'react-router'
import { Shell } from './Shell'
import { RequireAuth, RequirePermission } from './RequireAuth'
import { useCan } from '@/auth/session'
import { navItems } from './nav'
import SignIn from '@/pages/SignIn'
import NotFound from '@/pages/NotFound'

const Runs = lazy(() => import('@/pages/Runs'))
const Pipelines = lazy(() => import('@/pages/Pipelines'))
const PipelineBuilder = lazy(() => import('@/pages/PipelineBuilder'))
const Run = lazy(() => import('@/pages/Run'))
const Profile = lazy(() => import('@/pages/Profile'))
const AdminUsers = lazy(() => import('@/pages/AdminUsers'))
const AdminAudit = lazy(() => import('@/pages/AdminAudit'))
const AdminSettings = lazy(() => import('@/pages/AdminSettings'))
const System = lazy(() => import('@/pages/System'))
const SystemLogs = lazy(() => import('@/pages/SystemLogs'))
const Workers = lazy(() => import('@/pages/Workers'))
const Connectors = lazy(() => import('@/pages/Connectors'))
const Uploads = lazy(() => import('@/pages/Uploads'))
const ConnectorNew = lazy(() => import('@/pages/ConnectorNew'))
const ConnectorDetail = lazy(() => import('@/pages/ConnectorDetail'))
const ConnectorOAuthCallback = lazy(() => import('@/pages/ConnectorOAuthCallback'))
const PipelineMapping = lazy(() => import('@/pages/PipelineMapping'))
const Alerts = lazy(() => import('@/pages/Alerts'))
const AlertDetail = lazy(() => import('@/pages/AlertDetail'))
const Dashboard = lazy(() => import('@/pages/Dashboard'))
const Analytics = lazy(() => import('@/pages/Analytics'))

/** The home page: the dashboard for a role that reads analytics, else the first area the role may use. */
function Home() {
  const can = useCan()
  if (can('analytics:read')) return <Dashboard />
  const first = navItems.find((n) => n.to !== '/' && can(n.permission))
  return <Navigate to={first ? first.to : '/profile'} replace />
}

export const routes: RouteObject[] = [
  { path: '/sign-in', element: <SignIn /> },
  {
    element: (
      <RequireAuth>
        <Shell />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Home /> },
      { path: 'runs', element: <Runs /> },
      { path: 'pipelines', element: <Pipelines /> },
      { path: 'pipelines/new', element: <PipelineBuilder /> },
      { path: 'pipelines/:id', element: <PipelineBuilder /> },
      { path: 'pipelines/:id/mapping/:node', element: <PipelineMapping /> },
      { path: 'runs/:id', element: <Run /> },
      { path: 'workers', element: <RequirePermission permission={'workers:read'}><Workers /></RequirePermission> },
      { path: 'alerts', element: <RequirePermission permission="alerts:read"><Alerts /></RequirePermission> },
      { path: 'alerts/rules', element: <RequirePermission permission="alerts:read"><Alerts /></RequirePermission> },
      { path: 'alerts/channels', element: <RequirePermission permission="alerts:read"><Alerts /></RequirePermission> },
      { path: 'alerts/:id', element: <RequirePermission permission="alerts:read"><AlertDetail /></RequirePermission> },
      { path: 'queries', element: <RequirePermission permission="analytics:query"><Analytics /></RequirePermission> },
      { path: 'queries/:id', element: <RequirePermission permission="analytics:query"><Analytics /></RequirePermission> },
      { path: 'profile', element: <Profile /> },
      { path: 'admin/users', element: <RequirePermission permission="users:read"><AdminUsers /></RequirePermission> },
      { path: 'admin/audit', element: <RequirePermission permission="audit:read"><AdminAudit /></RequirePermission> },
      { path: 'admin/settings', element: <RequirePermission permission="settings:read"><AdminSettings /></RequirePermission> },
      { path: 'admin/system', element: <RequirePermission permission="settings:read"><System /></RequirePermission> },
      { path: 'admin/system-logs', element: <RequirePermission permission="system_logs:read"><SystemLogs /></RequirePermission> },
      { path: 'connectors', element: <RequirePermission permission="connectors:read"><Connectors /></RequirePermission> },
      { path: 'connectors/new', element: <RequirePermission permission="connectors:write"><ConnectorNew /></RequirePermission> },
      { path: 'connectors/oauth/callback', element: <ConnectorOAuthCallback /> },
      { path: 'connectors/:id', element: <RequirePermission permission="connectors:read"><ConnectorDetail /></RequirePermission> },
      { path: 'uploads', element: <RequirePermission permission="files:read"><Uploads /></RequirePermission> },
      { path: '*', element: <NotFound /> },
    ],
  },
]
