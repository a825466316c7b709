import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { createBrowserRouter, RouterProvider } from 'react-router'
import { QueryClientProvider } from '@tanstack/react-query'
import { routes } from './app/routes'
import { queryClient } from './app/queryClient'
import { applyTheme, usePrefs, watchSystemTheme } from './app/prefs'
import { Toaster } from './components/toasts'
import './index.css'

applyTheme(usePrefs.getState().theme)
watchSystemTheme()

const router = createBrowserRouter(routes)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster />
    </QueryClientProvider>
  </StrictMode>,
)
