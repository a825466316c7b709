// The SQL editor of the query page: CodeMirror 6 with SQL highlighting in the dialect of the
// connector, and Ctrl+Enter (Cmd+Enter) to run. Its accessible name is "SQL".
import { useMemo, useRef } from 'react'
import CodeMirror from '@uiw/react-codemirror'
import { MySQL, PostgreSQL, MSSQL, StandardSQL, sql } from '@codemirror/lang-sql'
import { closeCompletion } from '@codemirror/autocomplete'
import { EditorView, keymap } from '@codemirror/view'
import { Prec } from '@codemirror/state'
import { useDark } from '@/features/graph'

const dialects = { postgres: PostgreSQL, mysql: MySQL, sqlserver: MSSQL } as const

export function SqlEditor({
  value, onChange, onRun, connectorType,
}: {
  value: string
  onChange: (v: string) => void
  onRun: () => void
  connectorType?: string
}) {
  const dark = useDark()
  // the keymap is built once; it calls the latest onRun
  const run = useRef(onRun)
  run.current = onRun
  const extensions = useMemo(
    () => [
      sql({ dialect: dialects[connectorType as keyof typeof dialects] ?? StandardSQL, upperCaseKeywords: true }),
      // running closes an open completion list: the result, not a stale suggestion, is what follows
      Prec.highest(keymap.of([{ key: 'Mod-Enter', run: (view) => (closeCompletion(view), run.current(), true), preventDefault: true }])),
      EditorView.lineWrapping,
      EditorView.theme({
        '&': { backgroundColor: 'transparent', fontSize: '13px' },
        '&.cm-focused': { outline: 'none' },
        '.cm-content': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', padding: '10px 0' },
        '.cm-gutters': { backgroundColor: 'transparent', border: 'none' },
      }),
      EditorView.contentAttributes.of({ 'aria-label': 'SQL' }),
    ],
    [connectorType],
  )
  return (
    <div className="overflow-hidden rounded-lg bg-white ring-1 ring-inset ring-slate-300 focus-within:ring-2 focus-within:ring-brand-500 dark:bg-slate-950 dark:ring-slate-700">
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions}
        theme={dark ? 'dark' : 'light'}
        basicSetup={{ foldGutter: false, highlightActiveLine: true, autocompletion: true }}
        minHeight="11rem"
        maxHeight="22rem"
        placeholder="SELECT region, sum(amount) AS revenue FROM sales GROUP BY region ORDER BY revenue DESC"
      />
    </div>
  )
}
