// The YAML tab: CodeMirror 6 on the same spec as the canvas. An edit re-parses the text; the canvas
// follows as soon as it parses (a syntax error is shown with its line, and the canvas waits).
import { useMemo } from 'react'
import CodeMirror, { EditorView } from '@uiw/react-codemirror'
import { yaml } from '@codemirror/lang-yaml'
import { useDark } from '@/features/graph'
import { useBuilder } from './store'

export default function YamlEditor({ readOnly }: { readOnly: boolean }) {
  const text = useBuilder((s) => s.text)
  const dark = useDark()
  const extensions = useMemo(
    () => [yaml(), EditorView.lineWrapping, EditorView.contentAttributes.of({ 'aria-label': 'Pipeline YAML' })],
    [],
  )
  return (
    <CodeMirror
      value={text}
      height="100%"
      className="h-full text-sm"
      theme={dark ? 'dark' : 'light'}
      extensions={extensions}
      readOnly={readOnly}
      onChange={(v) => useBuilder.getState().setText(v)}
      basicSetup={{ foldGutter: true, highlightActiveLine: true }}
    />
  )
}
