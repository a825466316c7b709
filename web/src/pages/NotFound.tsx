import { Link } from 'react-router'
import { EmptyState, Button } from '@/components/ui'
import { Compass } from 'lucide-react'

export default function NotFound() {
  return (
    <EmptyState title="Page not found" icon={<Compass className="size-6" aria-hidden />} action={<Link to="/"><Button variant="primary">Go home</Button></Link>}>
      The address does not match any page of the app.
    </EmptyState>
  )
}
