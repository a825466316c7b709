import { forwardRef } from 'react'
import { CheckCircle2, XCircle } from 'lucide-react'
import { Field, Input, Textarea } from '@/components/ui'
import { SchemaForm, type FormValue, type SchemaFormHandle } from '@/components/forms/SchemaForm'
import type { ProblemDetail } from '@/api/errors'
import { fieldMessage } from '@/features/admin/fieldMessage'
import type { ConnectorType } from './connectors'
import { RequestTester } from './RequestTester'

export interface ConnectorDraft {
  name: string
  description: string
  config: FormValue
}

/** Connection fields that stay out of the "Advanced" section even though they have defaults. */
const primaryFields = ['url', 'host', 'port', 'instance', 'user', 'database', 'schema', 'path', 'upload', 'sheet']

/** Name, description and the type's generated config form (secrets write-only). */
export const ConnectorForm = forwardRef<
  SchemaFormHandle,
  {
    type: ConnectorType
    draft: ConnectorDraft
    onChange: (d: ConnectorDraft) => void
    error?: unknown
    secretsSet?: string[]
    /** Secret manager references the saved secret fields hold, by path. */
    secretRefs?: Record<string, string>
    readOnly?: boolean
    /** The saved connector being edited (the request tester uses its stored secrets). */
    connectorId?: string
  }
>(function ConnectorForm({ type, draft, onChange, error, secretsSet, secretRefs, readOnly, connectorId }, ref) {
  const problems = (error as { problem?: { errors?: ProblemDetail[] | null } } | undefined)?.problem?.errors
  return (
    <div className="space-y-5">
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" error={fieldMessage(error, 'body.name')} help="Pipelines name it with connector: <name>" required>
          {(p) => (
            <Input {...p} value={draft.name} readOnly={readOnly} onChange={(e) => onChange({ ...draft, name: e.target.value })} placeholder={`${type.name}-main`} required />
          )}
        </Field>
        <Field label="Description" error={fieldMessage(error, 'body.description')}>
          {(p) => (
            <Textarea {...p} rows={1} value={draft.description} readOnly={readOnly} onChange={(e) => onChange({ ...draft, description: e.target.value })} placeholder="What it connects to" />
          )}
        </Field>
      </div>
      <div className="border-t border-slate-200 pt-5 dark:border-slate-800">
        <h3 className="mb-3 text-sm font-semibold">{type.title} settings</h3>
        <SchemaForm
          ref={ref}
          schema={type.config_schema}
          value={draft.config}
          onChange={(config) => onChange({ ...draft, config })}
          errors={problems}
          errorPrefix="body.config"
          secretsSet={secretsSet}
          secretRefs={secretRefs}
          primary={primaryFields}
          readOnly={readOnly}
          idPrefix="connector"
        />
      </div>
      {type.testable && !readOnly && <RequestTester type={type} config={draft.config} connectorId={connectorId} />}
    </div>
  )
})

/** The answer of Test connection: ok or the server's message. */
export function CheckBanner({ result }: { result: { ok: boolean; message: string } }) {
  return (
    <div
      role="status"
      aria-label="Connection test"
      className={
        result.ok
          ? 'flex items-start gap-2 rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:border-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-300'
          : 'flex items-start gap-2 rounded-lg border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-300'
      }
    >
      {result.ok ? <CheckCircle2 className="mt-0.5 size-4 shrink-0" aria-hidden /> : <XCircle className="mt-0.5 size-4 shrink-0" aria-hidden />}
      <p>
        <span className="font-medium">{result.ok ? 'Connection works' : 'Connection failed'}</span>
        {result.message && result.message !== 'connection works' ? `: ${result.message}` : ''}
      </p>
    </div>
  )
}
