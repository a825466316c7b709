// /pipelines/new and /pipelines/:id: the visual builder (its own lazy chunk).
import { EmptyState } from '@/components/ui'

export default function PipelineBuilder() {
  return <EmptyState title="The builder is on its way">The canvas lands in the next commit.</EmptyState>
}
