// SchemaForm: a form generated from the JSON Schema the API serves for a connector or transform
// type (config_schema), drawn with our own Tailwind templates and widgets (templates.tsx).
//
//   <SchemaForm schema={type.config_schema} value={config} onChange={setConfig}
//               errors={apiError?.problem.errors} errorPrefix="body.config" secretsSet={['password']} />
//
// - Properties follow x-order; optional properties with a default sit in a collapsed "Advanced"
//   section (opened by itself when one of them has an error); `primary` keeps some of them visible.
// - Secret properties (x-secret / writeOnly+password) are write-only: the input starts empty, shows
//   "set"/"not set" (from secretsSet) with a Replace action; a value is never filled back in.
// - Defaults are not written into the value (they show as placeholders): the config stays minimal.
// - Client-side validation (ajv) runs as the user types and on validate(); server problems (errors
//   with locations under errorPrefix) show under their fields.
import { forwardRef, useImperativeHandle, useMemo, useRef } from 'react'
import Form from '@rjsf/core'
import type { ErrorSchema, RJSFValidationError, UiSchema } from '@rjsf/utils'
import type { ProblemDetail } from '@/api/errors'
import { prepare, secretNames, toErrorSchema, type JSONSchema } from './schema'
import { templates, widgets, type FormCtx } from './templates'
import { validator } from './validator'
import { cn } from '@/lib/cn'

export type { JSONSchema } from './schema'

export type FormValue = Record<string, unknown>

export interface SchemaFormProps {
  /** The JSON Schema of the value (an object schema), as the API serves it. */
  schema: JSONSchema | Record<string, unknown>
  /** The current value (a config object). */
  value: FormValue | undefined
  /** Called with the whole new value on every change (secrets the user left alone are absent). */
  onChange: (value: FormValue, errors: RJSFValidationError[]) => void
  /** Problems from the server (ApiError.problem.errors); those located under errorPrefix show at their field. */
  errors?: ProblemDetail[] | null
  /** Where the form's value sits in the request the errors came from, e.g. "body.config". */
  errorPrefix?: string
  readOnly?: boolean
  /** Names of the secret fields that already have a saved value. */
  secretsSet?: string[]
  /** Secret manager references (vault://, file://) saved secret fields hold, by path: shown as written. */
  secretRefs?: Record<string, string>
  /** Properties with a default that stay out of the Advanced section (top level). */
  primary?: string[]
  /** id prefix of the generated controls (distinct per form on a page). */
  idPrefix?: string
  className?: string
}

export interface SchemaFormHandle {
  /** Validates against the schema, shows the errors at their fields; true when valid. */
  validate: () => boolean
}

// Not ajv: it compiles schemas with `new Function`, which the app's CSP refuses (see validator.ts).

export const SchemaForm = forwardRef<SchemaFormHandle, SchemaFormProps>(function SchemaForm(
  { schema, value, onChange, errors, errorPrefix = '', readOnly, secretsSet, secretRefs, primary, idPrefix = 'cfg', className },
  ref,
) {
  const prepared = useMemo(() => prepare(schema as JSONSchema), [schema])
  const uiSchema = useMemo<UiSchema>(
    () => ({ ...prepared.uiSchema, 'ui:submitButtonOptions': { norender: true } }),
    [prepared],
  )
  const secrets = useMemo(() => secretNames(prepared.schema), [prepared])
  // A secret present in the value when the form opened is never shown nor sent back: the form only
  // carries a secret the user typed here.
  const initial = useRef<FormValue | undefined>(value)
  const formData = useMemo(() => {
    const v: FormValue = { ...(value ?? {}) }
    for (const n of secrets) if (initial.current && v[n] === initial.current[n]) delete v[n]
    return v
  }, [value, secrets])
  const extraErrors = useMemo<ErrorSchema | undefined>(() => {
    if (!errors?.length) return undefined
    return toErrorSchema(errors, errorPrefix).errorSchema
  }, [errors, errorPrefix])
  const formContext = useMemo<FormCtx>(() => ({ secretsSet: secretsSet ?? [], secretRefs, primary, readOnly }), [secretsSet, secretRefs, primary, readOnly])
  const formRef = useRef<Form>(null)
  const box = useRef<HTMLDivElement>(null)
  useImperativeHandle(
    ref,
    () => ({
      validate: () => {
        const ok = formRef.current?.validateForm() ?? false
        // Focus the first invalid control once the errors are drawn (Advanced opens first when needed).
        if (!ok) setTimeout(() => box.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0)
        return ok
      },
    }),
    [],
  )

  return (
    <div ref={box} className={cn('schema-form', className)}>
      <Form
        ref={formRef}
        schema={prepared.schema}
        uiSchema={uiSchema}
        formData={formData}
        validator={validator}
        templates={templates}
        widgets={widgets}
        formContext={formContext}
        readonly={readOnly}
        extraErrors={extraErrors}
        liveValidate="onBlur"
        showErrorList={false}
        onError={() => {}}
        noHtml5Validate
        idPrefix={idPrefix}
        experimental_defaultFormStateBehavior={{ emptyObjectFields: 'skipDefaults', arrayMinItems: { populate: 'never' } }}
        onChange={(e) => onChange(clean(e.formData as FormValue), e.errors)}
        tagName="div"
      />
    </div>
  )
})

/**
 * Drops undefined properties, at every depth, and the nested objects left empty, so that the value
 * holds only what the user set: the form draws an optional object's fields (partition: key, chunks)
 * and reports `{}` for it while they are blank, which would make its required fields errors.
 */
export function clean(v: FormValue | undefined): FormValue {
  const out: FormValue = {}
  for (const [k, x] of Object.entries(v ?? {})) {
    if (x === undefined) continue
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      const inner = clean(x as FormValue)
      if (Object.keys(inner).length > 0) out[k] = inner
      continue
    }
    out[k] = x
  }
  return out
}
