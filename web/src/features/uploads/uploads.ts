// Uploaded files: the list query, the delete mutation and the upload queue (a Zustand store, so that
// uploads keep going and stay visible while the user moves around the app).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { create } from 'zustand'
import { api, unwrap, uploadFile, type Schemas } from '@/api/client'
import { ApiError, errorMessage } from '@/api/errors'
import { queryClient } from '@/app/queryClient'
import { toast } from '@/components/toasts'

export type UploadedFile = Schemas['File']
export const filesKey = ['files'] as const
export const FILES_PER_PAGE = 25

/** What the file picker offers; the server sniffs the content and is the judge. */
export const ACCEPT = '.csv,.tsv,.txt,.json,.ndjson,.jsonl,.xml,.xlsx,.gz,text/csv,application/json,application/xml'

export function useFiles(page: number) {
  return useQuery({
    queryKey: [...filesKey, page],
    placeholderData: keepPreviousData,
    queryFn: () => unwrap(api.GET('/api/v1/files', { params: { query: { page, per_page: FILES_PER_PAGE } } })),
  })
}

export function useDeleteFile() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/files/{id}', { params: { path: { id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: filesKey }),
  })
}

export interface UploadJob {
  key: number
  name: string
  size: number
  progress: number
  status: 'uploading' | 'done' | 'failed'
  error?: string
  file?: UploadedFile
}

interface UploadState {
  jobs: UploadJob[]
  start: (files: File[]) => void
  dismiss: (key: number) => void
}

let nextKey = 1

export const useUploads = create<UploadState>()((set, get) => {
  const patch = (key: number, p: Partial<UploadJob>) =>
    set({ jobs: get().jobs.map((j) => (j.key === key ? { ...j, ...p } : j)) })
  return {
    jobs: [],
    start(files) {
      for (const f of files) {
        const key = nextKey++
        const job: UploadJob = { key, name: f.name, size: f.size, progress: 0, status: 'uploading' }
        set({ jobs: [job, ...get().jobs].slice(0, 20) })
        uploadFile<UploadedFile>('/api/v1/files', f, (progress) => patch(key, { progress }))
          .then((file) => {
            patch(key, { status: 'done', progress: 1, file })
            void queryClient.invalidateQueries({ queryKey: filesKey })
            toast.success('Upload finished', f.name)
          })
          .catch((e: unknown) => {
            patch(key, { status: 'failed', error: uploadError(e) })
          })
      }
    },
    dismiss(key) {
      set({ jobs: get().jobs.filter((j) => j.key !== key) })
    },
  }
})

/**
 * uploadError is what to tell the user about a refused upload: the server's message about the file
 * (empty, too large, unsupported content) rather than the generic validation title.
 */
export function uploadError(e: unknown): string {
  if (e instanceof ApiError) {
    const about = e.fieldErrors('body.file').map((d) => d.message).filter(Boolean)
    const msg = about.length ? about.join('; ') : e.problem.detail || e.message
    return `Upload refused: ${msg}`
  }
  return errorMessage(e)
}
