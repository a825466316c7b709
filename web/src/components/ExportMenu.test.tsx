import { describe, expect, it, vi } from 'vitest'
import { render, screen, fireEvent } from '@testing-library/react'
import { ExportMenu } from './ExportMenu'

describe('ExportMenu', () => {
  it('offers the four formats and picks one', () => {
    const onPick = vi.fn()
    render(<ExportMenu label="Export orders" onPick={onPick} />)
    expect(screen.queryByRole('menu')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Export orders' }))
    const items = screen.getAllByRole('menuitem').map((i) => i.textContent)
    expect(items).toEqual(['CSV', 'NDJSON', 'Excel (.xlsx)', 'Parquet'])
    fireEvent.click(screen.getByRole('menuitem', { name: 'Parquet' }))
    expect(onPick).toHaveBeenCalledWith('parquet')
    expect(screen.queryByRole('menu')).toBeNull()
  })
})
