// The node's config form, generated from its type's JSON Schema: a field per scalar property (text,
// number, checkbox, choice) and a JSON editor for the rest. Stand-in until the shared
// components/forms/SchemaForm (rjsf) lands; the props are the same shape (schema, value, onChange, errors).
import { useEffect, useState } from 'react'
import { Field, Input, Select, Textarea } from '@/components/ui'

type Schema = {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  enum?: unknown[]
  default?: unknown
  description?: string
  title?: string
  'x-order'?: string[]
  'x-secret'?: boolean
}

export interface ConfigFormProps {
  schema?: Record<string, unknown>
  value: Record<string, unknown>
  onChange: (v: Record<string, unknown>) => void
  /** Problems by config key ("path", "types.amount" -> "types"). */
  errors?: Record<string, string[]>
  readOnly?: boolean
}

const scalar = (s: Schema) => {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type
  return t === 'string' || t === 'integer' || t === 'number' || t === 'boolean' ? t : null
}

export function ConfigForm({ schema, value, onChange, errors = {}, readOnly }: ConfigFormProps) {
  const s = (schema ?? {}) as Schema
  const props = s.properties ?? {}
  const order = s['x-order'] ?? Object.keys(props)
  const simple = order.filter((k) => props[k] && scalar(props[k]) && !props[k]['x-secret'])
  const complexKeys = Object.keys(value).filter((k) => !simple.includes(k))
  const required = new Set(s.required ?? [])

  const set = (k: string, v: unknown) => {
    const next = { ...value }
    if (v === undefined || v === '') delete next[k]
    else next[k] = v
    onChange(next)
  }

  return (
    <div className="space-y-3">
      {simple.map((k) => {
        const p = props[k]
        const t = scalar(p)!
        const err = errors[k]?.join('; ') || null
        const help = p.description
        if (t === 'boolean') {
          const checked = typeof value[k] === 'boolean' ? (value[k] as boolean) : p.default === true
          return (
            <div key={k} className="space-y-1">
              <label className="flex items-center gap-2 text-sm font-medium text-slate-700 dark:text-slate-300">
                <input
                  type="checkbox"
                  className="size-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
                  checked={checked}
                  disabled={readOnly}
                  onChange={(e) => set(k, e.target.checked === (p.default === true) && value[k] === undefined ? undefined : e.target.checked)}
                />
                {k}
              </label>
              {err ? <p className="text-xs text-rose-600 dark:text-rose-400">{err}</p> : help && <p className="text-xs text-slate-500 dark:text-slate-400">{help}</p>}
            </div>
          )
        }
        return (
          <Field key={k} label={k} required={required.has(k)} help={help} error={err}>
            {(fp) =>
              p.enum ? (
                <Select {...fp} value={value[k] == null ? '' : String(value[k])} disabled={readOnly} onChange={(e) => set(k, e.target.value || undefined)}>
                  <option value="">{p.default != null ? `Default (${String(p.default)})` : '—'}</option>
                  {p.enum.map((o) => (
                    <option key={String(o)} value={String(o)}>
                      {String(o)}
                    </option>
                  ))}
                </Select>
              ) : (
                <Input
                  {...fp}
                  type={t === 'string' ? 'text' : 'number'}
                  value={value[k] == null ? '' : String(value[k])}
                  placeholder={p.default != null && p.default !== '' ? String(p.default) : undefined}
                  readOnly={readOnly}
                  invalid={!!err}
                  onChange={(e) => {
                    const raw = e.target.value
                    if (t === 'string') set(k, raw)
                    else set(k, raw === '' ? undefined : Number(raw))
                  }}
                />
              )
            }
          </Field>
        )
      })}
      <JsonPart
        keys={complexKeys}
        value={value}
        readOnly={readOnly}
        errors={complexKeys.flatMap((k) => (errors[k] ?? []).map((m) => `${k}: ${m}`))}
        hint={order.filter((k) => !simple.includes(k))}
        onChange={(part) => {
          const next: Record<string, unknown> = {}
          for (const k of Object.keys(value)) if (simple.includes(k)) next[k] = value[k]
          onChange({ ...next, ...part })
        }}
      />
    </div>
  )
}

/** The config keys that are not simple fields, as JSON (lists, mappings, expressions per field). */
function JsonPart({
  keys, value, onChange, errors, hint, readOnly,
}: {
  keys: string[]
  value: Record<string, unknown>
  onChange: (v: Record<string, unknown>) => void
  errors: string[]
  hint: string[]
  readOnly?: boolean
}) {
  const current = JSON.stringify(Object.fromEntries(keys.map((k) => [k, value[k]])), null, 2)
  const [text, setText] = useState(current)
  const [bad, setBad] = useState<string | null>(null)
  useEffect(() => {
    setText((t) => {
      try {
        if (JSON.stringify(JSON.parse(t)) === JSON.stringify(JSON.parse(current))) return t
      } catch {
        /* replace */
      }
      return current
    })
    setBad(null)
  }, [current])
  const err = bad ?? (errors.length ? errors.join('; ') : null)
  return (
    <Field
      label="More settings (JSON)"
      help={hint.length ? `Keys: ${hint.join(', ')}` : 'Any other key of the config'}
      error={err}
    >
      {(fp) => (
        <Textarea
          {...fp}
          rows={Math.min(12, Math.max(3, text.split('\n').length))}
          spellCheck={false}
          className="font-mono text-xs"
          value={text}
          readOnly={readOnly}
          invalid={!!err}
          onChange={(e) => {
            setText(e.target.value)
            try {
              const v = JSON.parse(e.target.value || '{}') as unknown
              if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('an object {...} is expected')
              setBad(null)
              onChange(v as Record<string, unknown>)
            } catch (x) {
              setBad(`Not valid JSON: ${(x as Error).message}`)
            }
          }}
        />
      )}
    </Field>
  )
}
