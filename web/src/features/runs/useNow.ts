import { useEffect, useState } from 'react'

/** The current time, updated every `every` ms while active (for running durations). */
export function useNow(active: boolean, every = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setNow(Date.now()), every)
    return () => clearInterval(t)
  }, [active, every])
  return now
}
