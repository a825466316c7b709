// The widget grid: react-grid-layout v2 on 12 columns of 40 px rows. While editing, a widget moves
// by its grip and resizes from its corner; every change is handed up as a new document (the page
// saves it). Narrow screens (below 720 px) stack the widgets in layout order instead.
import { useMemo } from 'react'
import GridLayout, { useContainerWidth, type Layout } from 'react-grid-layout'
import 'react-grid-layout/css/styles.css'
import './dashboard.css'
import { applyLayout, COLS, WIDGETS, type DashboardDoc } from './model'
import { WidgetBody, WidgetCard, type WidgetContext } from './Widget'

export const ROW_HEIGHT = 40

/** Live widgets say so; the others name the range they cover. */
function subtitleOf(kind: string, ctx: WidgetContext): string {
  return kind === 'running_now' || kind === 'worker_health' ? 'Now' : ctx.rangeLabel
}
const MARGIN = [16, 16] as const

export function Board({
  doc, ctx, editing, onChange, onRemove,
}: { doc: DashboardDoc; ctx: WidgetContext; editing: boolean; onChange: (d: DashboardDoc) => void; onRemove: (id: string) => void }) {
  const { width, containerRef, mounted } = useContainerWidth({ measureBeforeMount: true })
  const layout: Layout = useMemo(
    () =>
      doc.widgets.map((w) => ({
        i: w.i, x: w.x, y: w.y, w: w.w, h: w.h, minW: WIDGETS[w.kind].minW, minH: WIDGETS[w.kind].minH,
      })),
    [doc],
  )
  const narrow = mounted && width < 720
  const ordered = useMemo(() => [...doc.widgets].sort((a, b) => a.y - b.y || a.x - b.x), [doc])
  return (
    <div ref={containerRef} className="dash-board" data-testid="dashboard-grid">
      {!mounted ? null : narrow ? (
        <div className="space-y-4">
          {ordered.map((w) => (
            <div key={w.i} style={{ height: w.h * ROW_HEIGHT + (w.h - 1) * MARGIN[1] }}>
              <WidgetCard kind={w.kind} subtitle={subtitleOf(w.kind, ctx)}>
                <WidgetBody kind={w.kind} ctx={ctx} />
              </WidgetCard>
            </div>
          ))}
        </div>
      ) : (
        <GridLayout
          width={width}
          layout={layout}
          gridConfig={{ cols: COLS, rowHeight: ROW_HEIGHT, margin: MARGIN, containerPadding: [0, 0] }}
          dragConfig={{ enabled: editing, handle: '.dash-drag', cancel: '.dash-nodrag' }}
          resizeConfig={{ enabled: editing, handles: ['se'] }}
          onLayoutChange={(l) => {
            if (!editing) return
            const next = applyLayout(doc, l)
            if (next.widgets.some((w, k) => { const o = doc.widgets[k]; return w.x !== o.x || w.y !== o.y || w.w !== o.w || w.h !== o.h })) onChange(next)
          }}
        >
          {doc.widgets.map((w) => (
            <div key={w.i} data-grid-id={w.i}>
              <WidgetCard kind={w.kind} subtitle={subtitleOf(w.kind, ctx)} editing={editing} onRemove={() => onRemove(w.i)}>
                <WidgetBody kind={w.kind} ctx={ctx} />
              </WidgetCard>
            </div>
          ))}
        </GridLayout>
      )}
    </div>
  )
}
