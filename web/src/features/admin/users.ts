// Users administration: the queries and mutations of /admin/users.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'

export type User = Schemas['User']
export type Role = Schemas['CreateUserInputBody']['role']

/** The roles, most powerful first, with what each may do (docs/security.md). */
export const roles: Array<{ id: Role; label: string; help: string }> = [
  { id: 'admin', label: 'Admin', help: 'Everything, including other admins' },
  { id: 'developer', label: 'Developer', help: 'Everything except admin users' },
  { id: 'designer', label: 'Designer', help: 'Builds pipelines, connectors, mappings and files' },
  { id: 'executor', label: 'Executor', help: 'Runs and cancels pipelines' },
  { id: 'viewer', label: 'Viewer', help: 'Reads pipelines, runs and the connector list' },
  { id: 'executive', label: 'Executive', help: 'Reads dashboards and reports' },
]

export interface UserFilter {
  search: string
  role: Role | ''
  active: 'true' | 'false' | ''
  page: number
}

export const usersKey = ['users'] as const
export const PER_PAGE = 25

export function useUsers(f: UserFilter) {
  return useQuery({
    queryKey: [...usersKey, f],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/users', {
          params: {
            query: {
              page: f.page,
              per_page: PER_PAGE,
              search: f.search || undefined,
              role: f.role || undefined,
              active: f.active || undefined,
            },
          },
        }),
      ),
  })
}

function useInvalidate() {
  const qc = useQueryClient()
  return () => void qc.invalidateQueries({ queryKey: usersKey })
}

export function useCreateUser() {
  const done = useInvalidate()
  return useMutation({
    mutationFn: (body: Schemas['CreateUserInputBody']) => unwrap(api.POST('/api/v1/users', { body })),
    onSuccess: done,
  })
}

export function useUpdateUser() {
  const done = useInvalidate()
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas['UpdateUserInputBody'] }) =>
      unwrap(api.PATCH('/api/v1/users/{id}', { params: { path: { id } }, body })),
    onSuccess: done,
  })
}

export function useDeactivateUser() {
  const done = useInvalidate()
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/users/{id}/deactivate', { params: { path: { id } } })),
    onSuccess: done,
  })
}

export function useResetPassword() {
  const done = useInvalidate()
  return useMutation({
    mutationFn: ({ id, password }: { id: string; password: string }) =>
      unwrap(api.POST('/api/v1/users/{id}/password', { params: { path: { id } }, body: { password } })),
    onSuccess: done,
  })
}

/** A random temporary password that passes the policy (16 characters from an unambiguous alphabet, in groups). */
export function temporaryPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789'
  const bytes = new Uint32Array(16)
  crypto.getRandomValues(bytes)
  const chars = Array.from(bytes, (b) => alphabet[b % alphabet.length])
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-')
}
