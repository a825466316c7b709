// Our own Tailwind templates and widgets for @rjsf/core: every generated form looks like the rest of
// the app (UI kit field look, focus ring, dark mode) and every control has an accessible name.
import { useCallback, useId, useState, type ChangeEvent, type FocusEvent } from 'react'
import {
  ADDITIONAL_PROPERTY_FLAG, ariaDescribedByIds, buttonId, descriptionId, enumOptionSelectedValue,
  enumOptionValueDecoder, enumOptionValueEncoder, errorId, getInputProps, getOptionValueFormat, getTemplate, getUiOptions,
  type ArrayFieldItemButtonsTemplateProps, type ArrayFieldItemTemplateProps, type ArrayFieldTemplateProps,
  type BaseInputTemplateProps, type FieldErrorProps, type FieldTemplateProps, type IconButtonProps,
  type ObjectFieldTemplateProps, type RegistryWidgetsType, type TemplatesType, type WidgetProps,
  type WrapIfAdditionalTemplateProps, type DescriptionFieldProps, type TitleFieldProps, type ArrayFieldTitleProps,
  type ArrayFieldDescriptionProps,
} from '@rjsf/utils'
import { ArrowDown, ArrowUp, ChevronRight, Copy, KeyRound, Plus, Trash2 } from 'lucide-react'
import { cn } from '@/lib/cn'
import { Badge, Button } from '@/components/ui'
import { refKind, refLabel, type RefKind } from '@/lib/secretRef'
import { hasErrors, isAdvanced, type JSONSchema } from './schema'

/** What SchemaForm passes to its templates through rjsf's formContext. */
export interface FormCtx {
  secretsSet: string[]
  /** Secret manager references the saved secret fields hold, by dotted path: shown as written. */
  secretRefs?: Record<string, string>
  primary?: string[]
  readOnly?: boolean
}

export const inputClass =
  'block w-full rounded-md border-0 bg-white px-3 py-1.5 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-brand-500 focus:outline-none disabled:bg-slate-50 disabled:text-slate-500 read-only:bg-slate-50 dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700 dark:placeholder:text-slate-500 dark:read-only:bg-slate-800/60 dark:disabled:bg-slate-800/60'
const invalidClass = 'ring-rose-500 dark:ring-rose-500'

function placeholderOf(schema: JSONSchema, placeholder?: string): string | undefined {
  if (placeholder) return placeholder
  if (schema.default !== undefined && schema.default !== null && typeof schema.default !== 'object') return String(schema.default)
  const ex = (schema as { examples?: unknown[] }).examples
  if (Array.isArray(ex) && ex.length && typeof ex[0] !== 'object') return `e.g. ${String(ex[0])}`
  return undefined
}

function BaseInputTemplate(props: BaseInputTemplateProps) {
  const {
    id, htmlName, value, readonly, disabled, autofocus, onBlur, onFocus, onChange, onChangeOverride, options, schema,
    rawErrors, type, hideLabel, label, placeholder, required,
  } = props
  const inputProps = getInputProps(schema, type, options)
  const numeric = inputProps.type === 'number' || inputProps.type === 'integer'
  const inputValue = numeric ? (value || value === 0 ? value : '') : value ?? ''
  const handleChange = useCallback(
    (e: ChangeEvent<HTMLInputElement>) => onChange(e.target.value === '' ? options.emptyValue : e.target.value),
    [onChange, options],
  )
  return (
    <input
      id={id}
      name={htmlName || id}
      {...inputProps}
      value={inputValue}
      readOnly={readonly}
      disabled={disabled}
      required={required}
      autoFocus={autofocus}
      placeholder={placeholderOf(schema as JSONSchema, placeholder)}
      aria-label={hideLabel ? label : undefined}
      aria-invalid={rawErrors?.length ? true : undefined}
      aria-describedby={ariaDescribedByIds(id)}
      onChange={onChangeOverride || handleChange}
      onBlur={(e: FocusEvent<HTMLInputElement>) => onBlur(id, e.target.value)}
      onFocus={(e: FocusEvent<HTMLInputElement>) => onFocus(id, e.target.value)}
      className={cn(inputClass, 'h-9', numeric && 'tabular-nums', !!rawErrors?.length && invalidClass)}
    />
  )
}

function TextareaWidget(props: WidgetProps) {
  const { id, htmlName, value, readonly, disabled, autofocus, onBlur, onFocus, onChange, options, schema, rawErrors, hideLabel, label, placeholder, required } = props
  return (
    <textarea
      id={id}
      name={htmlName || id}
      value={value ?? ''}
      rows={typeof options.rows === 'number' ? options.rows : 3}
      readOnly={readonly}
      disabled={disabled}
      required={required}
      autoFocus={autofocus}
      placeholder={placeholderOf(schema as JSONSchema, placeholder)}
      aria-label={hideLabel ? label : undefined}
      aria-invalid={rawErrors?.length ? true : undefined}
      aria-describedby={ariaDescribedByIds(id)}
      onChange={(e) => onChange(e.target.value === '' ? options.emptyValue : e.target.value)}
      onBlur={(e) => onBlur(id, e.target.value)}
      onFocus={(e) => onFocus(id, e.target.value)}
      className={cn(inputClass, 'font-mono text-[13px]', !!rawErrors?.length && invalidClass)}
    />
  )
}

function SelectWidget(props: WidgetProps) {
  const { schema, id, htmlName, options, value, required, disabled, readonly, autofocus, onChange, onBlur, onFocus, placeholder, rawErrors, hideLabel, label, multiple } = props
  const { enumOptions, enumDisabled, emptyValue } = options
  const fmt = getOptionValueFormat(options)
  const decode = (v: string | string[]) => enumOptionValueDecoder(v, enumOptions, fmt, emptyValue)
  const read = (e: { target: HTMLSelectElement }) =>
    multiple ? Array.from(e.target.selectedOptions).map((o) => o.value) : e.target.value
  const selected = enumOptionSelectedValue(value, enumOptions, !!multiple, fmt, multiple ? [] : '')
  const def = (schema as JSONSchema).default
  return (
    <select
      id={id}
      name={htmlName || id}
      multiple={multiple}
      value={selected as string | string[]}
      required={required}
      disabled={disabled || readonly}
      autoFocus={autofocus}
      aria-label={hideLabel ? label : undefined}
      aria-invalid={rawErrors?.length ? true : undefined}
      aria-describedby={ariaDescribedByIds(id)}
      onChange={(e) => onChange(decode(read(e)))}
      onBlur={(e) => onBlur(id, decode(read(e)))}
      onFocus={(e) => onFocus(id, decode(read(e)))}
      className={cn(inputClass, !multiple && 'h-9 pr-8', !!rawErrors?.length && invalidClass)}
    >
      {!multiple && <option value="">{def !== undefined ? `Default (${String(def)})` : placeholder || 'Choose…'}</option>}
      {(enumOptions ?? []).map(({ value: v, label: l }, i) => (
        <option key={String(v)} value={enumOptionValueEncoder(v, i, fmt)} disabled={enumDisabled?.includes(v)}>
          {l}
        </option>
      ))}
    </select>
  )
}

function CheckboxWidget(props: WidgetProps) {
  const { id, htmlName, value, disabled, readonly, autofocus, onChange, onBlur, onFocus, label, schema } = props
  return (
    <label htmlFor={id} className="inline-flex cursor-pointer items-center gap-2 text-sm font-medium text-slate-700 dark:text-slate-300">
      <input
        type="checkbox"
        id={id}
        name={htmlName || id}
        checked={typeof value === 'undefined' ? schema.default === true : !!value}
        disabled={disabled || readonly}
        autoFocus={autofocus}
        aria-describedby={ariaDescribedByIds(id)}
        onChange={(e) => onChange(e.target.checked)}
        onBlur={(e) => onBlur(id, e.target.checked)}
        onFocus={(e) => onFocus(id, e.target.checked)}
        className="size-4 rounded border-slate-300 text-brand-600 accent-brand-600 focus:ring-2 focus:ring-brand-500 dark:border-slate-600"
      />
      {label}
    </label>
  )
}

/**
 * A write-only secret: never filled from the form's value. A saved secret shows "set" and a Replace
 * action that opens an empty password input; an unsaved one shows "not set" and the input.
 */
function SecretWidget(props: WidgetProps) {
  const { id, htmlName, onChange, onBlur, onFocus, disabled, readonly, rawErrors, registry, name, label, hideLabel, required, autofocus } = props
  const ctx = (registry.formContext ?? {}) as FormCtx
  const path = typeof props.options?.secretPath === 'string' && props.options.secretPath ? props.options.secretPath : name
  const savedRef = ctx.secretRefs?.[path]
  const saved = (ctx.secretsSet?.includes(path) ?? false) || !!savedRef
  const [replacing, setReplacing] = useState(false)
  const [typed, setTyped] = useState('')
  const ro = readonly || disabled || ctx.readOnly
  const typedKind = refKind(typed)
  const status = typedKind ? (
    <RefChip kind={typedKind} />
  ) : (
    <Badge tone={saved ? 'green' : 'gray'}>
      <KeyRound className="size-3" aria-hidden />
      {saved ? 'set' : 'not set'}
    </Badge>
  )
  const savedKind = refKind(savedRef)
  if (ro || (saved && !replacing)) {
    return (
      <div className="flex min-w-0 items-center gap-2" id={id} aria-describedby={ariaDescribedByIds(id)}>
        <span className="sr-only">{label}:</span>
        {savedRef && savedKind ? (
          <>
            <code className="truncate rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-300" title={savedRef}>
              {savedRef}
            </code>
            <RefChip kind={savedKind} />
          </>
        ) : (
          status
        )}
        {!ro && saved && (
          <Button size="sm" variant="ghost" aria-label={`Replace ${label}`} onClick={() => setReplacing(true)}>
            Replace
          </Button>
        )}
      </div>
    )
  }
  return (
    <div className="flex items-center gap-2">
      <input
        id={id}
        name={htmlName || id}
        type={typedKind ? 'text' : 'password'}
        autoComplete="new-password"
        spellCheck={false}
        value={typed}
        required={required && !saved}
        autoFocus={autofocus || replacing}
        placeholder={saved ? 'New value, or a reference (vault://, aws-sm://, gcp-sm://, azure-kv://, file://)' : 'Value, or vault://mount/path#key, aws-sm://name#key…'}
        aria-label={hideLabel ? label : undefined}
        aria-invalid={rawErrors?.length ? true : undefined}
        aria-describedby={ariaDescribedByIds(id)}
        onChange={(e) => {
          setTyped(e.target.value)
          onChange(e.target.value === '' ? undefined : e.target.value)
        }}
        onBlur={() => onBlur(id, undefined)}
        onFocus={() => onFocus(id, undefined)}
        className={cn(inputClass, 'h-9', !!rawErrors?.length && invalidClass)}
      />
      {status}
      {saved && (
        <Button
          size="sm"
          variant="ghost"
          aria-label={`Keep the saved ${label}`}
          onClick={() => {
            setTyped('')
            setReplacing(false)
            onChange(undefined)
          }}
        >
          Keep
        </Button>
      )}
    </div>
  )
}

/** A chip that says where a secret comes from: "from Vault", "from AWS Secrets Manager", "from file"… */
function RefChip({ kind }: { kind: RefKind }) {
  return (
    <Badge tone="violet" className="shrink-0">
      <KeyRound className="size-3" aria-hidden />
      {refLabel[kind]}
    </Badge>
  )
}

function FieldTemplate(props: FieldTemplateProps) {
  const { id, label, children, rawErrors, rawDescription, hidden, required, displayLabel, schema, classNames } = props
  if (hidden) return <div className="hidden">{children}</div>
  const isObjectOrArray = schema.type === 'object' || schema.type === 'array'
  const isBool = schema.type === 'boolean'
  return (
    <WrapIfAdditionalTemplate {...props}>
      <div className={cn('space-y-1', classNames)}>
        {displayLabel && !isBool && !isObjectOrArray && (
          <label htmlFor={id} className="block text-sm font-medium text-slate-700 dark:text-slate-300">
            {label}
            {required && <span className="ml-0.5 text-rose-500" aria-hidden>*</span>}
          </label>
        )}
        {children}
        {displayLabel && rawDescription && !isObjectOrArray && (
          <p id={descriptionId(id)} className="text-xs text-slate-500 dark:text-slate-400">{rawDescription}</p>
        )}
        {!isObjectOrArray && <ErrorList id={id} errors={rawErrors} />}
      </div>
    </WrapIfAdditionalTemplate>
  )
}

function ErrorList({ id, errors }: { id: string; errors?: (string | React.ReactElement)[] }) {
  if (!errors?.length) return null
  return (
    <ul id={errorId(id)} className="space-y-0.5 text-xs text-rose-600 dark:text-rose-400">
      {errors.map((e, i) => (
        <li key={i}>{e}</li>
      ))}
    </ul>
  )
}

function FieldErrorTemplate(props: FieldErrorProps) {
  // FieldTemplate draws the errors itself (with the ids aria-describedby points at); objects and
  // arrays draw theirs in their templates.
  void props
  return null
}

function WrapIfAdditionalTemplate(props: WrapIfAdditionalTemplateProps) {
  const { id, label, onKeyRenameBlur, onRemoveProperty, readonly, disabled, schema, children, registry, uiSchema } = props
  if (!(ADDITIONAL_PROPERTY_FLAG in schema)) return <>{children}</>
  const { RemoveButton } = registry.templates.ButtonTemplates
  return (
    <div className="flex items-start gap-2">
      <input
        key={label}
        id={`${id}-key`}
        aria-label="Key"
        defaultValue={label}
        readOnly={readonly}
        disabled={disabled}
        onBlur={onKeyRenameBlur}
        className={cn(inputClass, 'h-9 w-2/5 font-mono text-[13px]')}
      />
      <span className="mt-2 text-slate-400" aria-hidden>→</span>
      <div className="min-w-0 flex-1">{children}</div>
      {!readonly && !disabled && (
        <RemoveButton id={buttonId(id, 'remove')} onClick={onRemoveProperty} registry={registry} uiSchema={uiSchema} title={`Remove ${label}`} />
      )}
    </div>
  )
}

function SectionTitle({ title, required, description, id }: { title?: string; required?: boolean; description?: string | React.ReactNode; id?: string }) {
  if (!title && !description) return null
  return (
    <div className="space-y-0.5">
      {title && (
        <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">
          {title}
          {required && <span className="ml-0.5 text-rose-500" aria-hidden>*</span>}
        </legend>
      )}
      {description && <p id={id} className="text-xs text-slate-500 dark:text-slate-400">{description}</p>}
    </div>
  )
}

function ObjectFieldTemplate(props: ObjectFieldTemplateProps) {
  const { title, description, properties, schema, uiSchema, formData, onAddProperty, disabled, readonly, registry, fieldPathId, errorSchema, required } = props
  const ctx = (registry.formContext ?? {}) as FormCtx
  const isRoot = fieldPathId.$id === registry.globalUiOptions?.idPrefix || fieldPathId.path.length === 0
  const s = schema as JSONSchema
  const visible = properties.filter((p) => !p.hidden)
  const advanced = visible.filter((p) => isAdvanced(p.name, s.properties?.[p.name], s.required, isRoot ? ctx.primary : undefined))
  const main = visible.filter((p) => !advanced.includes(p))
  const advancedHasErrors = advanced.some((p) => hasErrors((errorSchema as Record<string, unknown> | undefined)?.[p.name]))
  const [open, setOpen] = useState(false)
  const shown = open || advancedHasErrors
  const sectionId = useId()
  const { AddButton } = registry.templates.ButtonTemplates
  const expandable = s.additionalProperties !== undefined && s.additionalProperties !== false && !s.properties
  const addable = expandable || (s.additionalProperties && typeof s.additionalProperties === 'object')
  const opts = getUiOptions(uiSchema)
  const grouped = advanced.length > 0 && main.length > 0
  const body = (
    <>
      <div className="space-y-4">{(grouped ? main : visible).map((p) => <div key={p.name}>{p.content}</div>)}</div>
      {grouped && (
        <div className="rounded-lg border border-slate-200 dark:border-slate-800">
          <button
            type="button"
            aria-expanded={shown}
            aria-controls={sectionId}
            onClick={() => setOpen(!shown)}
            className="flex w-full items-center gap-1.5 rounded-lg px-3 py-2 text-left text-sm font-medium text-slate-600 hover:bg-slate-50 dark:text-slate-300 dark:hover:bg-slate-800/60"
          >
            <ChevronRight className={cn('size-4 transition-transform', shown && 'rotate-90')} aria-hidden />
            Advanced
            <span className="text-xs font-normal text-slate-400">({advanced.length} {advanced.length === 1 ? 'option' : 'options'}, defaults apply)</span>
          </button>
          <div id={sectionId} hidden={!shown} className="space-y-4 border-t border-slate-200 px-3 py-3 dark:border-slate-800">
            {advanced.map((p) => <div key={p.name}>{p.content}</div>)}
          </div>
        </div>
      )}
      {addable && !readonly && !disabled && (
        <AddButton
          id={buttonId(fieldPathId, 'add')}
          onClick={onAddProperty}
          registry={registry}
          uiSchema={uiSchema}
          title={`Add ${String(opts.title || title || 'entry').toLowerCase()}`}
        />
      )}
    </>
  )
  void formData
  if (isRoot) return <div className="space-y-4">{body}</div>
  return (
    <fieldset id={fieldPathId.$id} className="space-y-3 rounded-lg border border-slate-200 p-3 dark:border-slate-800">
      <SectionTitle title={String(opts.title || title || '')} required={required} description={opts.description || description} id={descriptionId(fieldPathId)} />
      {body}
      <ErrorList id={fieldPathId.$id} errors={(errorSchema as { __errors?: string[] } | undefined)?.__errors} />
    </fieldset>
  )
}

function ArrayFieldTemplate(props: ArrayFieldTemplateProps) {
  const { canAdd, items, onAddClick, disabled, readonly, registry, uiSchema, schema, title, required, fieldPathId, rawErrors } = props
  const { AddButton } = registry.templates.ButtonTemplates
  const opts = getUiOptions(uiSchema)
  const label = String(opts.title || title || '')
  return (
    <fieldset id={fieldPathId.$id} className="space-y-2">
      <SectionTitle title={label} required={required} description={String(opts.description || schema.description || '')} id={descriptionId(fieldPathId)} />
      {items.length > 0 && <div className="space-y-2">{items}</div>}
      {items.length === 0 && <p className="text-xs italic text-slate-400">None yet.</p>}
      {canAdd && !readonly && !disabled && (
        <AddButton id={buttonId(fieldPathId, 'add')} onClick={onAddClick} registry={registry} uiSchema={uiSchema} title={`Add to ${label.toLowerCase() || 'list'}`} />
      )}
      <ErrorList id={fieldPathId.$id} errors={rawErrors} />
    </fieldset>
  )
}

function ArrayFieldItemTemplate(props: ArrayFieldItemTemplateProps) {
  const { children, buttonsProps, hasToolbar, registry, uiSchema, schema } = props
  const Buttons = getTemplate('ArrayFieldItemButtonsTemplate', registry, getUiOptions(uiSchema))
  const boxed = schema.type === 'object'
  return (
    <div className={cn('flex items-start gap-2', boxed && 'rounded-lg bg-slate-50/70 p-2 dark:bg-slate-800/30')}>
      <div className="min-w-0 flex-1">{children}</div>
      {hasToolbar && (
        <div className="flex shrink-0 items-center gap-0.5 pt-0.5">
          <Buttons {...buttonsProps} />
        </div>
      )}
    </div>
  )
}

function ArrayFieldItemButtonsTemplate(props: ArrayFieldItemButtonsTemplateProps) {
  const { hasMoveUp, hasMoveDown, hasRemove, hasCopy, onMoveUpItem, onMoveDownItem, onRemoveItem, onCopyItem, disabled, readonly, index, registry, uiSchema, fieldPathId } = props
  const { MoveUpButton, MoveDownButton, RemoveButton, CopyButton } = registry.templates.ButtonTemplates
  const off = disabled || readonly
  const n = index + 1
  return (
    <>
      {(hasMoveUp || hasMoveDown) && (
        <>
          <MoveUpButton id={buttonId(fieldPathId, 'moveUp')} disabled={off || !hasMoveUp} onClick={onMoveUpItem} registry={registry} uiSchema={uiSchema} title={`Move item ${n} up`} />
          <MoveDownButton id={buttonId(fieldPathId, 'moveDown')} disabled={off || !hasMoveDown} onClick={onMoveDownItem} registry={registry} uiSchema={uiSchema} title={`Move item ${n} down`} />
        </>
      )}
      {hasCopy && <CopyButton id={buttonId(fieldPathId, 'copy')} disabled={off} onClick={onCopyItem} registry={registry} uiSchema={uiSchema} title={`Copy item ${n}`} />}
      {hasRemove && <RemoveButton id={buttonId(fieldPathId, 'remove')} disabled={off} onClick={onRemoveItem} registry={registry} uiSchema={uiSchema} title={`Remove item ${n}`} />}
    </>
  )
}

function iconButton(icon: React.ReactNode, fallback: string) {
  return function Btn(props: IconButtonProps) {
    const { registry: _r, uiSchema: _u, iconType: _t, icon: _i, className, title, ...rest } = props
    const name = title || fallback
    return (
      <button
        type="button"
        aria-label={name}
        title={name}
        className={cn(
          'inline-flex size-8 items-center justify-center rounded-md text-slate-500 hover:bg-slate-100 hover:text-slate-900 disabled:opacity-40 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white',
          className,
        )}
        {...rest}
      >
        {icon}
      </button>
    )
  }
}

function AddButton(props: IconButtonProps) {
  const { registry: _r, uiSchema: _u, iconType: _t, icon: _i, className, title, ...rest } = props
  return (
    <Button size="sm" variant="subtle" icon={<Plus className="size-3.5" aria-hidden />} className={className} {...rest}>
      {title || 'Add'}
    </Button>
  )
}

function DescriptionField(props: DescriptionFieldProps) {
  const { id, description } = props
  if (!description) return null
  return <p id={id} className="text-xs text-slate-500 dark:text-slate-400">{description}</p>
}

function TitleField(props: TitleFieldProps) {
  const { id, title, required } = props
  return (
    <p id={id} className="text-sm font-medium text-slate-700 dark:text-slate-300">
      {title}
      {required && <span className="ml-0.5 text-rose-500" aria-hidden>*</span>}
    </p>
  )
}

function ArrayFieldTitle(_: ArrayFieldTitleProps) {
  return null
}
function ArrayFieldDescription(_: ArrayFieldDescriptionProps) {
  return null
}

export const templates: Partial<TemplatesType> = {
  BaseInputTemplate,
  FieldTemplate,
  FieldErrorTemplate,
  ObjectFieldTemplate,
  ArrayFieldTemplate,
  ArrayFieldItemTemplate,
  ArrayFieldItemButtonsTemplate,
  WrapIfAdditionalTemplate,
  DescriptionFieldTemplate: DescriptionField,
  TitleFieldTemplate: TitleField,
  ArrayFieldTitleTemplate: ArrayFieldTitle,
  ArrayFieldDescriptionTemplate: ArrayFieldDescription,
  ButtonTemplates: {
    AddButton,
    RemoveButton: iconButton(<Trash2 className="size-4" aria-hidden />, 'Remove'),
    MoveUpButton: iconButton(<ArrowUp className="size-4" aria-hidden />, 'Move up'),
    MoveDownButton: iconButton(<ArrowDown className="size-4" aria-hidden />, 'Move down'),
    CopyButton: iconButton(<Copy className="size-4" aria-hidden />, 'Copy'),
    ClearButton: iconButton(<Trash2 className="size-4" aria-hidden />, 'Clear'),
    SubmitButton: () => null,
  },
}

export const widgets: RegistryWidgetsType = {
  SelectWidget,
  CheckboxWidget,
  TextareaWidget,
  secret: SecretWidget,
  textarea: TextareaWidget,
}
