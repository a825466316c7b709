// A one-expression CodeMirror 6 editor with autocomplete of the source field names and of the
// expression functions (GET /api/v1/expression-functions). Its accessible name is `label`.
import { useMemo } from 'react'
import CodeMirror from '@uiw/react-codemirror'
import { autocompletion, type Completion, type CompletionContext } from '@codemirror/autocomplete'
import { EditorView } from '@codemirror/view'
import { usePrefersDark } from './usePrefersDark'
import type { ExpressionFunction } from './api'
import type { FieldDef } from './model'

const keywords = ['and', 'or', 'not', 'in', 'matches', 'contains', 'startsWith', 'endsWith', 'nil', 'true', 'false']

export function completions(fields: FieldDef[], functions: ExpressionFunction[]): Completion[] {
  return [
    ...fields.map((f) => ({ label: f.name, type: 'variable', detail: f.type ?? '', boost: 2 })),
    ...functions.map((f) => ({ label: f.name, type: 'function', detail: f.signature.replace(/^[^(]*/, ''), info: f.group, apply: `${f.name}(` })),
    ...keywords.map((k) => ({ label: k, type: 'keyword' })),
  ]
}

export function ExpressionEditor({
  value, onChange, fields, functions, label, invalid, readOnly,
}: {
  value: string
  onChange: (v: string) => void
  fields: FieldDef[]
  functions: ExpressionFunction[]
  label: string
  invalid?: boolean
  readOnly?: boolean
}) {
  const dark = usePrefersDark()
  const extensions = useMemo(() => {
    const options = completions(fields, functions)
    const source = (ctx: CompletionContext) => {
      const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/)
      if (!word && !ctx.explicit) return null
      return { from: word ? word.from : ctx.pos, options, validFor: /^[A-Za-z0-9_]*$/ }
    }
    return [
      autocompletion({ override: [source], activateOnTyping: true }),
      EditorView.lineWrapping,
      EditorView.theme({
        '&': { backgroundColor: 'transparent' },
        '&.cm-focused': { outline: 'none' },
        '.cm-content': { padding: '7px 2px', fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
        '.cm-gutters': { display: 'none' },
      }),
      EditorView.contentAttributes.of({ 'aria-label': label, 'aria-invalid': invalid ? 'true' : 'false' }),
    ]
  }, [fields, functions, label, invalid])
  return (
    <div
      className={
        'overflow-hidden rounded-md bg-white px-1 text-[13px] shadow-sm ring-1 ring-inset focus-within:ring-2 focus-within:ring-brand-500 dark:bg-slate-950 ' +
        (invalid ? 'ring-rose-500' : 'ring-slate-300 dark:ring-slate-700')
      }
    >
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions}
        theme={dark ? 'dark' : 'light'}
        readOnly={readOnly}
        basicSetup={{ lineNumbers: false, foldGutter: false, highlightActiveLine: false, autocompletion: false }}
        minHeight="2.25rem"
        placeholder="e.g. upper(trim(name))"
      />
    </div>
  )
}
