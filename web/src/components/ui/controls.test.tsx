import { describe, expect, it, vi } from 'vitest'
import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { Pagination } from './controls'

describe('Pagination', () => {
  it('shows the range and moves between pages, disabled at the ends', async () => {
    const onPage = vi.fn()
    const { rerender } = render(<Pagination page={1} perPage={20} total={45} onPage={onPage} />)
    expect(screen.getByText(/1–20 of 45/)).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Previous' })).toBeDisabled()
    await userEvent.click(screen.getByRole('button', { name: 'Next' }))
    expect(onPage).toHaveBeenCalledWith(2)
    rerender(<Pagination page={3} perPage={20} total={45} onPage={onPage} />)
    expect(screen.getByText(/41–45 of 45/)).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled()
  })
})
