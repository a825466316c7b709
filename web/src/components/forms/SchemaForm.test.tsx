import { createRef, useState } from 'react'
import { act, render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { SchemaForm, clean, type FormValue, type SchemaFormHandle } from './SchemaForm'
import { locationPath, toErrorSchema } from './schema'
import postgres from '@/test/fixtures/postgres-config-schema.json'
import mapSchema from '@/test/fixtures/map-config-schema.json'
import restSchema from '@/test/fixtures/rest-config-schema.json'

// The postgres connector's config schema as GET /api/v1/connector-types serves it (captured from a
// running server), with "table" made required to exercise required-field validation.
const pgSchema = { ...postgres, required: ['table'] }

function Harness({ initial = {}, onValue, secretsSet, secretRefs, errors, schema = pgSchema, readOnly }: {
  initial?: FormValue
  onValue?: (v: FormValue) => void
  secretsSet?: string[]
  secretRefs?: Record<string, string>
  errors?: { message: string; location: string }[]
  schema?: object
  readOnly?: boolean
}) {
  const [v, setV] = useState<FormValue>(initial)
  return (
    <SchemaForm
      schema={schema}
      value={v}
      onChange={(nv) => {
        setV(nv)
        onValue?.(nv)
      }}
      secretsSet={secretsSet}
      secretRefs={secretRefs}
      errors={errors}
      errorPrefix="body.config"
      readOnly={readOnly}
    />
  )
}

/** The accessible names of the labelled controls, in document order. */
function controlNames(container: HTMLElement): string[] {
  return Array.from(container.querySelectorAll('label[for]')).map((l) => (l.textContent ?? '').replace('*', '').trim())
}

describe('SchemaForm', () => {
  it('draws a tagged union (auth: oneOf by type) as a choice whose fields appear when it is picked', async () => {
    const user = userEvent.setup()
    const onValue = vi.fn()
    render(<Harness schema={restSchema} onValue={onValue} secretsSet={['auth.client_secret']} />)
    const auth = screen.getByRole('combobox', { name: 'Auth type' })
    expect(within(auth).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'Default (none)',
      'No authentication', 'Basic (user name and password)', 'Bearer token', 'API key', 'OAuth2',
    ])
    expect(screen.queryByLabelText(/^Token\*?$/)).toBeNull()
    await user.selectOptions(auth, 'Bearer token')
    await user.type(screen.getByLabelText(/^Token\*?$/), 'tok-1')
    expect(onValue).toHaveBeenLastCalledWith(expect.objectContaining({ auth: { type: 'bearer', token: 'tok-1' } }))
    // Another choice brings its own fields; a saved nested secret shows as set.
    await user.selectOptions(auth, 'OAuth2')
    expect(screen.getByRole('textbox', { name: 'Token URL' })).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Replace Client secret' })).toBeTruthy()
    expect(screen.queryByLabelText(/^Token\*?$/)).toBeNull()
  })

  it('renders the main fields in x-order and puts optional fields with defaults under Advanced', async () => {
    const { container } = render(<Harness />)
    const order = postgres['x-order']
    const names = controlNames(container)
    // Every main field (no default) appears, in x-order.
    const main = ['URL', 'Password', 'SSL mode', 'SSL root cert', 'Schema', 'Table', 'Query']
    expect(names.filter((n) => main.includes(n))).toEqual(main)
    // Advanced is collapsed: its controls are in the DOM but hidden.
    const adv = screen.getByRole('button', { name: /Advanced/ })
    expect(adv).toHaveAttribute('aria-expanded', 'false')
    expect(screen.getByLabelText('Host')).not.toBeVisible()
    await userEvent.click(adv)
    expect(adv).toHaveAttribute('aria-expanded', 'true')
    expect(screen.getByLabelText('Host')).toBeVisible()
    // The advanced ones keep their x-order too.
    const advNames = controlNames(container).filter((n) => ['Host', 'Port', 'User', 'Database', 'Batch size', 'Application name'].includes(n))
    expect(advNames).toEqual(['Host', 'Port', 'User', 'Database', 'Batch size', 'Application name'])
    expect(order.indexOf('host')).toBeLessThan(order.indexOf('batch_size'))
    // Defaults are placeholders, not values.
    expect(screen.getByLabelText('Port')).toHaveValue(null)
    expect(screen.getByLabelText('Port')).toHaveAttribute('placeholder', '5432')
  })

  it('keeps fields named in primary out of Advanced', () => {
    render(<SchemaForm schema={pgSchema} value={{}} onChange={() => {}} primary={['host', 'port']} />)
    expect(screen.getByLabelText('Host')).toBeVisible()
    expect(screen.getByLabelText('Port')).toBeVisible()
    expect(screen.getByLabelText('User')).not.toBeVisible()
  })

  it('sends changes to onChange with typed values', async () => {
    const onValue = vi.fn()
    render(<Harness onValue={onValue} />)
    await userEvent.type(screen.getByLabelText(/^Table/), 'orders')
    expect(onValue).toHaveBeenLastCalledWith({ table: 'orders' })
    await userEvent.click(screen.getByRole('button', { name: /Advanced/ }))
    await userEvent.type(screen.getByLabelText('Port'), '6543')
    expect(onValue).toHaveBeenLastCalledWith({ table: 'orders', port: 6543 })
    await userEvent.selectOptions(screen.getByLabelText('SSL mode'), 'require')
    expect(onValue).toHaveBeenLastCalledWith({ table: 'orders', port: 6543, ssl_mode: 'require' })
  })

  it('validates required and min/max, naming the field', async () => {
    const ref = createRef<SchemaFormHandle>()
    const { rerender } = render(<SchemaForm ref={ref} schema={pgSchema} value={{ port: 70000 }} onChange={() => {}} />)
    let ok = true
    act(() => {
      ok = ref.current!.validate()
    })
    expect(ok).toBe(false)
    // The port error opened Advanced by itself and shows at the field.
    const port = screen.getByLabelText('Port')
    expect(port).toBeVisible()
    expect(port).toHaveAttribute('aria-invalid', 'true')
    expect(document.getElementById(port.getAttribute('aria-describedby')!.split(' ')[0])).toHaveTextContent(/must be <= 65535/)
    expect(screen.getByLabelText(/^Table/)).toHaveAttribute('aria-invalid', 'true')
    expect(screen.getByText(/must have required property 'Table'/)).toBeInTheDocument()

    rerender(<SchemaForm ref={ref} schema={pgSchema} value={{ port: 5433, table: 't' }} onChange={() => {}} />)
    act(() => {
      ok = ref.current!.validate()
    })
    expect(ok).toBe(true)
  })

  it('leaves an optional object out until one of its fields is set: its required fields do not block saving', async () => {
    const schema = {
      type: 'object',
      properties: {
        table: { type: 'string' },
        partition: { type: 'object', properties: { key: { type: 'string' }, chunks: { type: 'integer' } }, required: ['key'] },
      },
    }
    const ref = createRef<SchemaFormHandle>()
    const onValue = vi.fn()
    function Live() {
      const [v, setV] = useState<FormValue>({})
      return <SchemaForm ref={ref} schema={schema} value={v} onChange={(nv) => { setV(nv); onValue(nv) }} />
    }
    render(<Live />)
    await userEvent.type(screen.getByLabelText('Table'), 'orders')
    expect(onValue).toHaveBeenLastCalledWith({ table: 'orders' })
    let ok = false
    act(() => {
      ok = ref.current!.validate()
    })
    expect(ok).toBe(true)
    // Once the object is used, its required field is required.
    await userEvent.type(screen.getByLabelText('Chunks'), '4')
    expect(onValue).toHaveBeenLastCalledWith({ table: 'orders', partition: { chunks: 4 } })
    act(() => {
      ok = ref.current!.validate()
    })
    expect(ok).toBe(false)
  })

  it('clean drops undefined values and emptied objects at every depth, and keeps lists and set values', () => {
    expect(clean({ a: undefined, b: { c: undefined, d: {} }, e: [], f: 0, g: { h: 'x', i: undefined } })).toEqual({ e: [], f: 0, g: { h: 'x' } })
  })

  it('shows a saved secret as "set" and never fills it back in', async () => {
    const onValue = vi.fn()
    render(<Harness initial={{ password: 'hunter2', table: 't' }} secretsSet={['password']} onValue={onValue} />)
    const field = screen.getByText('Password', { selector: 'label' }).parentElement!
    expect(within(field).getByText('set')).toBeInTheDocument()
    expect(document.body.innerHTML).not.toContain('hunter2')
    expect(screen.queryByDisplayValue('hunter2')).toBeNull()
    // Replace opens an empty password input; what the user types reaches onChange.
    await userEvent.click(screen.getByRole('button', { name: 'Replace Password' }))
    const input = screen.getByLabelText('Password')
    expect(input).toHaveAttribute('type', 'password')
    expect(input).toHaveValue('')
    await userEvent.type(input, 's3cret')
    expect(onValue).toHaveBeenLastCalledWith({ table: 't', password: 's3cret' })
    // The secret the form was opened with was never sent back.
    for (const call of onValue.mock.calls) expect(call[0].password).not.toBe('hunter2')
  })

  it('shows a saved secret manager reference as written, with where it comes from', async () => {
    const onValue = vi.fn()
    render(<Harness initial={{ table: 't' }} secretsSet={['password']} secretRefs={{ password: 'vault://secret/db#password' }} onValue={onValue} />)
    const field = screen.getByText('Password', { selector: 'label' }).parentElement!
    expect(within(field).getByText('vault://secret/db#password')).toBeInTheDocument()
    expect(within(field).getByText('from Vault')).toBeInTheDocument()
    expect(within(field).queryByText('set')).toBeNull()
    // Replacing it with a typed reference: the input shows it in clear with its chip.
    await userEvent.click(screen.getByRole('button', { name: 'Replace Password' }))
    const input = screen.getByLabelText('Password')
    await userEvent.type(input, 'file:///run/secrets/pw')
    expect(input).toHaveAttribute('type', 'text')
    expect(within(input.parentElement!).getByText('from file')).toBeInTheDocument()
    expect(onValue).toHaveBeenLastCalledWith({ table: 't', password: 'file:///run/secrets/pw' })
  })

  it('keeps a typed literal secret hidden (a reference needs a known scheme)', async () => {
    render(<Harness />)
    const input = screen.getByLabelText('Password')
    await userEvent.type(input, 'https://not-a-ref')
    expect(input).toHaveAttribute('type', 'password')
    expect(within(input.parentElement!).getByText('not set')).toBeInTheDocument()
  })

  it('shows an unsaved secret as "not set" with an empty input', () => {
    render(<Harness />)
    const input = screen.getByLabelText('Password')
    expect(input).toHaveValue('')
    expect(within(input.parentElement!).getByText('not set')).toBeInTheDocument()
  })

  it('shows server problems at their fields', async () => {
    render(<Harness errors={[{ message: 'relation "nope" does not exist', location: 'body.config.table' }, { message: 'too big', location: 'body.config.batch_size' }]} />)
    expect(screen.getByText('relation "nope" does not exist')).toBeInTheDocument()
    expect(screen.getByLabelText(/^Table/)).toHaveAttribute('aria-invalid', 'true')
    // An error in an advanced field opens the section.
    expect(screen.getByLabelText('Batch size')).toBeVisible()
  })

  it('is read-only when asked', () => {
    render(<Harness readOnly initial={{ table: 'orders' }} secretsSet={['password']} />)
    expect(screen.getByLabelText(/^Table/)).toHaveAttribute('readonly')
    expect(screen.queryByRole('button', { name: /Replace/ })).toBeNull()
  })

  it('edits key -> value maps and string lists of a transform schema', async () => {
    const onValue = vi.fn()
    render(<Harness schema={mapSchema} onValue={onValue} />)
    await userEvent.click(screen.getByRole('button', { name: 'Add to select' }))
    const item = screen.getByRole('textbox', { name: /select/i })
    await userEvent.type(item, 'id')
    expect(onValue).toHaveBeenLastCalledWith(expect.objectContaining({ select: ['id'] }))
    await userEvent.click(screen.getByRole('button', { name: 'Add rename' }))
    expect(onValue).toHaveBeenLastCalledWith(expect.objectContaining({ rename: expect.any(Object) }))
    expect(screen.getAllByRole('textbox', { name: 'Key' }).length).toBe(1)
  })
})

describe('problem locations', () => {
  it.each([
    ['body.config.port', ['body', 'config', 'port']],
    ['body.nodes[2].config.table', ['body', 'nodes', '2', 'config', 'table']],
    ['/config/a~1b', ['config', 'a/b']],
  ])('%s', (loc, want) => {
    expect(locationPath(loc)).toEqual(want)
  })

  it('keeps problems outside the prefix apart', () => {
    const { errorSchema, rest } = toErrorSchema(
      [{ message: 'bad', location: 'body.config.port' }, { message: 'other', location: 'body.name' }, { message: 'none' }],
      'body.config',
    )
    expect(errorSchema).toEqual({ port: { __errors: ['bad'] } })
    expect(rest.map((e) => e.message)).toEqual(['other', 'none'])
  })
})
