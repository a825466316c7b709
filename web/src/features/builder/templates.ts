// Starting a pipeline from a template (examples/): the template's YAML with the chosen name; its
// sample files are uploaded and the sources that read them point at the uploads (config.upload), so
// that the template runs wherever the server's file roots are. Comments are kept.
import { isMap, isSeq, parseDocument } from 'yaml'
import type { PipelineTemplate } from '@/features/pipelines/api'
import { stringify } from './yamlSync'

export async function templateText(
  t: PipelineTemplate, name: string, upload: ((f: File) => Promise<{ id: string }>) | null,
): Promise<string> {
  const doc = parseDocument(t.spec)
  doc.set('name', name)
  const sources = doc.get('sources', true)
  if (upload && isSeq(sources)) {
    for (const s of sources.items) {
      if (!isMap(s)) continue
      const config = s.get('config', true)
      if (!isMap(config)) continue
      const path = config.get('path')
      const file = (t.files ?? []).find((f) => f.path === path)
      if (!file) continue
      const up = await upload(new File([file.content], file.path.split('/').pop() ?? file.path))
      config.delete('path')
      config.set('upload', up.id)
    }
  }
  return stringify(doc)
}
