package runner

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/dataaggregator/aggregator/internal/engine"
)

// RateMeter turns progress snapshots (rows read so far) into rows per second over the last Window
// or more (default 1s). The zero value is ready to use; it is not safe for concurrent use.
type RateMeter struct {
	Window time.Duration
	at     time.Time
	rows   int64
	rate   float64
}

// Update records rows read so far at now and returns the current rate, and whether this update
// started a new window (the rate was recomputed).
func (m *RateMeter) Update(now time.Time, rows int64) (rate float64, fresh bool) {
	w := m.Window
	if w <= 0 {
		w = time.Second
	}
	switch {
	case m.at.IsZero():
		m.at, m.rows = now, rows
	case now.Sub(m.at) >= w:
		m.rate = float64(rows-m.rows) / now.Sub(m.at).Seconds()
		m.at, m.rows = now, rows
		return m.rate, true
	}
	return m.rate, false
}

// Reporter shows the progress of a run on w: a bar with rows/s on a terminal, a plain line every
// two seconds otherwise, or nothing.
type Reporter struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	plain bool
	rate  RateMeter
	now   func() time.Time
}

// NewReporter returns a reporter for mode: auto (a bar on a terminal, lines otherwise), bar, plain
// or none.
func NewReporter(w io.Writer, mode string) (*Reporter, error) {
	p := &Reporter{w: w, rate: RateMeter{Window: 2 * time.Second}, now: time.Now}
	if mode == "auto" {
		mode = "plain"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		p.bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"), progressbar.OptionSetDescription("reading"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionSpinnerType(14))
	case "plain":
		p.plain = true
	case "none":
	default:
		return nil, fmt.Errorf("progress: %q is not one of auto, bar, plain, none", mode)
	}
	return p, nil
}

// Update shows a snapshot (an engine.Options.Progress function).
func (p *Reporter) Update(pr engine.Progress) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("written %d, rejected %d, checkpoints %d", pr.RowsWritten, pr.Rejected, pr.Checkpoints))
		_ = p.bar.Set64(pr.RowsRead)
		return
	}
	if !p.plain || pr.Done {
		return
	}
	// The first line comes after a window, with a rate.
	if rate, fresh := p.rate.Update(p.now(), pr.RowsRead); fresh {
		fmt.Fprintf(p.w, "progress: read %d rows (%s rows/s), written %d, rejected %d, checkpoints %d, %s\n",
			pr.RowsRead, HumanCount(rate), pr.RowsWritten, pr.Rejected, pr.Checkpoints, pr.Elapsed.Round(time.Second))
	}
}

// Finish ends the bar.
func (p *Reporter) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// HumanCount writes a count or rate with a k or M suffix.
func HumanCount(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}
