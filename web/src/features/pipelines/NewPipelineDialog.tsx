// "New pipeline": a name and a starting point (blank or one of the templates from examples/).
import { useState } from 'react'
import { useNavigate } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { FileText, Sparkles } from 'lucide-react'
import { Button, Dialog, Field, Input, Skeleton, InlineError } from '@/components/ui'
import { cn } from '@/lib/cn'
import { listTemplates } from './api'

export interface NewPipelineState {
  name: string
  template?: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export function NewPipelineDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate()
  const [name, setName] = useState('')
  const [template, setTemplate] = useState<string>('')
  const [touched, setTouched] = useState(false)
  const templates = useQuery({ queryKey: ['pipeline-templates'], queryFn: listTemplates, enabled: open, staleTime: Infinity })
  const error = !name ? 'A name is required' : !NAME.test(name) ? 'Letters, digits, "_", "." or "-", starting with a letter or digit' : null

  const submit = () => {
    setTouched(true)
    if (error) return
    onClose()
    navigate('/pipelines/new', { state: { name, template: template || undefined } satisfies NewPipelineState })
  }

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="New pipeline"
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={submit}>
            Create pipeline
          </Button>
        </>
      }
    >
      <form
        className="space-y-5"
        onSubmit={(e) => {
          e.preventDefault()
          submit()
        }}
      >
        <Field label="Pipeline name" required error={touched ? error : null} help="Letters, digits, _ . -; e.g. orders-clean">
          {(p) => (
            <Input
              {...p}
              value={name}
              autoFocus
              onChange={(e) => setName(e.target.value)}
              onBlur={() => setTouched(true)}
              placeholder="orders-clean"
            />
          )}
        </Field>
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-slate-700 dark:text-slate-300">Start from</legend>
          <div className="grid gap-2 sm:grid-cols-2">
            <TemplateCard
              title="Blank canvas"
              description="Drag sources, transforms and destinations from the palette."
              icon={<Sparkles className="size-4" aria-hidden />}
              checked={template === ''}
              onSelect={() => setTemplate('')}
            />
            {templates.isLoading && <Skeleton className="h-20" />}
            {templates.data?.map((t) => (
              <TemplateCard
                key={t.name}
                title={t.name}
                description={t.description}
                icon={<FileText className="size-4" aria-hidden />}
                checked={template === t.name}
                onSelect={() => {
                  setTemplate(t.name)
                  if (!name) setName(t.name)
                }}
              />
            ))}
          </div>
          {templates.error && <InlineError error={templates.error} />}
        </fieldset>
        <button type="submit" hidden />
      </form>
    </Dialog>
  )
}

function TemplateCard({
  title, description, icon, checked, onSelect,
}: { title: string; description: string; icon: React.ReactNode; checked: boolean; onSelect: () => void }) {
  return (
    <label
      className={cn(
        'flex cursor-pointer gap-3 rounded-lg border p-3 text-sm transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-brand-500',
        checked
          ? 'border-brand-500 bg-brand-50/60 dark:border-brand-400 dark:bg-brand-500/10'
          : 'border-slate-200 hover:border-slate-300 dark:border-slate-700 dark:hover:border-slate-600',
      )}
    >
      <input type="radio" name="template" className="sr-only" checked={checked} onChange={onSelect} aria-label={title} />
      <span className="mt-0.5 flex size-7 shrink-0 items-center justify-center rounded-md bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300">
        {icon}
      </span>
      <span className="min-w-0">
        <span className="block font-medium">{title}</span>
        <span className="line-clamp-2 text-xs text-slate-500 dark:text-slate-400">{description}</span>
      </span>
    </label>
  )
}
