// Duplicate a pipeline: its current YAML with the name "<name>-copy" (then -copy-2, -copy-3 when taken;
// a name may not contain spaces), comments kept.
import { parseDocument } from 'yaml'
import { ApiError } from '@/api/errors'
import { createPipeline, getPipeline, type Pipeline } from './api'

export function renamedSpec(text: string, name: string): string {
  const doc = parseDocument(text)
  doc.set('name', name)
  return doc.toString()
}

export async function duplicatePipeline(id: string): Promise<Pipeline> {
  const p = await getPipeline(id)
  const text = p.spec_text ?? JSON.stringify(p.spec)
  for (let i = 1; i <= 20; i++) {
    const name = `${p.name}-copy${i === 1 ? '' : `-${i}`}`
    try {
      return await createPipeline(renamedSpec(text, name))
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) continue
      throw e
    }
  }
  throw new Error(`${p.name}-copy … -copy-20 are all taken`)
}
