package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runner"
)

type runFlags struct {
	file, state, deadLetter, progress string
	cpuProfile                        string
	fresh                             bool
	batchSize                         int
	commitRows                        int64
	commitInterval                    time.Duration
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [-f] pipeline.yaml",
		Short: "Run a pipeline file to the end, with checkpoints; an interrupted run resumes where it stopped",
		Long: `Run validates the pipeline and runs it without a server. Progress goes to stderr (a progress
bar on a terminal, plain lines otherwise); a summary with per-node counters goes to stdout at the end.

Checkpoints are saved to a state file (default DATA_DIR/state/<pipeline name>.json) after every
destination has committed; when a run is interrupted (Ctrl-C, a crash, a kill), running it again
resumes from the last checkpoint. --fresh ignores the state file. Rejected rows go to a dead-letter
file (default DATA_DIR/dead-letters/<pipeline name>.ndjson; a .csv path writes CSV) when the error
policy is dead_letter. The exit code is non-zero when the run fails.

A pipeline with a stream source (kafka, nats_jetstream, amqp, mqtt) runs until SIGINT or SIGTERM:
it then stops reading, its destinations commit what they were given, the final checkpoint is saved,
the source positions are committed (Kafka offsets, JetStream acks, RabbitMQ acks, MQTT PUBACKs) and
it exits 0. The next run continues
after them. A second signal stops at once, as a kill would: the next run resumes from the last
checkpoint (docs/streams.md).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if f.file != "" && f.file != args[0] {
					return fmt.Errorf("give the pipeline file once: -f %s or %s", f.file, args[0])
				}
				f.file = args[0]
			}
			return runPipeline(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "pipeline file (YAML or JSON)")
	fl.StringVar(&f.state, "state", "", "checkpoint state file (default DATA_DIR/state/<pipeline name>.json)")
	fl.BoolVar(&f.fresh, "fresh", false, "ignore the state file and start from the beginning")
	fl.StringVar(&f.deadLetter, "dead-letter", "", "dead-letter file, .ndjson or .csv (default DATA_DIR/dead-letters/<pipeline name>.ndjson)")
	fl.IntVar(&f.batchSize, "batch-size", 0, "rows per batch (default: each connector's)")
	fl.Int64Var(&f.commitRows, "commit-rows", 100_000, "commit destinations and save a checkpoint after this many rows read")
	fl.DurationVar(&f.commitInterval, "commit-interval", 5*time.Second, "... or after this much time")
	fl.StringVar(&f.progress, "progress", "auto", "auto (a bar on a terminal, lines otherwise) | bar | plain | none")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the run to this file")
	_ = fl.MarkHidden("cpu-profile")
	addNetworkFlag(cmd)
	return cmd
}

func runPipeline(cmd *cobra.Command, f runFlags) error {
	p, err := loadPipeline(cmd, f.file, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	name := p.spec.Name
	if f.state == "" {
		f.state = filepath.Join(p.cfg.DataDir, "state", name+".json")
	}
	if f.deadLetter == "" {
		f.deadLetter = filepath.Join(p.cfg.DataDir, "dead-letters", name+".ndjson")
	}
	if os.Getenv("GOGC") == "" {
		// Batches are short-lived garbage; collecting at four times the live heap instead of once
		// saves about a quarter of the CPU of a file pipeline, as long as the heap that lets grow
		// stays within runner.HeapBudget (docs/benchmarks.md).
		defer runner.TuneGC(runner.HeapBudget, nil)()
	}
	prog, err := runner.NewReporter(cmd.ErrOrStderr(), f.progress)
	if err != nil {
		return err
	}
	sink := runner.NewFileSink(f.deadLetter)
	defer sink.Close()
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Ctrl-C or SIGTERM stops a bounded run as a kill would: the output stays staged for the next run
	// to resume. A stream run stops cleanly instead (Options.Stop); a second signal interrupts it.
	ctx, stop := context.WithCancelCause(context.WithoutCancel(cmd.Context()))
	defer stop(nil)
	streaming := false
	for _, n := range p.plan.Sources {
		streaming = streaming || n.ConnectorSpec.Unbounded
	}
	stopStream := make(chan struct{})
	var again chan os.Signal
	if streaming {
		again = make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		fmt.Fprintln(cmd.ErrOrStderr(), "streaming: runs until Ctrl-C or SIGTERM, then commits and exits")
	}
	go func() {
		select {
		case <-cmd.Context().Done():
		case <-ctx.Done():
			return
		}
		if !streaming {
			stop(engine.ErrInterrupted)
			return
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "stopping: committing what the destinations wrote (a second signal stops at once)")
		close(stopStream)
		// again also received the signal that cancelled cmd.Context: the second one interrupts
		for n := 0; ; {
			select {
			case <-again:
				if n++; n >= 2 {
					stop(engine.ErrInterrupted)
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	res, runErr := engine.Run(ctx, p.plan, engine.Options{
		Env:            p.env,
		BatchSize:      f.batchSize,
		CommitRows:     f.commitRows,
		CommitInterval: f.commitInterval,
		Checkpointer:   &runner.FileCheckpointer{Path: f.state, Fresh: f.fresh},
		Stop:           stopStream,
		DeadLetters:    sink,
		Progress:       prog.Update,
		Logger:         p.env.Logger,
		MemoryBudget:   p.cfg.RunMemoryMB << 20,
		LimitMemory:    true,
		SpillDir:       p.cfg.SpillPath(),
		SpillLimit:     p.cfg.SpillLimitMB << 20,
	})
	prog.Finish()
	if runErr != nil {
		if ne := nodeProblems(cmd.ErrOrStderr(), p, runErr); ne != runErr {
			return ne
		}
	}
	writeSummary(cmd.OutOrStdout(), name, res, sink, f.state)
	var resumeErr *engine.ResumeError
	if errors.As(runErr, &resumeErr) {
		return fmt.Errorf("pipeline %s %s: %w (the previous run's output was rolled back when it failed or was cancelled: run again with --fresh to start over)", name, res.Status, runErr)
	}
	if runErr != nil {
		return fmt.Errorf("pipeline %s %s: %w", name, res.Status, runErr)
	}
	return nil
}

func writeSummary(w io.Writer, name string, res *engine.Result, sink *runner.FileSink, state string) {
	took := res.Finished.Sub(res.Started).Round(time.Millisecond)
	note := ""
	switch {
	case res.Resumed:
		note = ", resumed from a checkpoint"
	case res.Restarted:
		note = ", restarted from the beginning"
	}
	if res.Stopped {
		note += ", stopped: the sources' positions are committed"
	}
	fmt.Fprintf(w, "pipeline %s %s in %s (run %s%s)\n", name, res.Status, took, res.RunID, note)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tkind\ttype\tin\tout\trejected\tfiltered\tdeduplicated\tbytes\t")
	for _, n := range res.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", n.ID, n.Kind, n.Type, n.In, n.Out, n.Rejected,
			n.Filtered, n.Deduplicated, humanBytes(n.Bytes))
	}
	tw.Flush()
	secs := res.Finished.Sub(res.Started).Seconds()
	rate := ""
	if secs > 0 {
		rate = fmt.Sprintf(" (%s rows/s)", runner.HumanCount(float64(res.RowsRead)/secs))
	}
	fmt.Fprintf(w, "rows read %d%s, written %d, rejected %d\n", res.RowsRead, rate, res.RowsWritten, res.Rejected)
	if sink.Rows() > 0 {
		fmt.Fprintf(w, "dead letters: %d rows in %s\n", sink.Rows(), sink.Path())
	} else {
		fmt.Fprintf(w, "dead letters: none (would go to %s)\n", sink.Path())
	}
	fmt.Fprintf(w, "checkpoints: %d saved in %s\n", res.Checkpoints, state)
}

func humanBytes(n int64) string {
	switch {
	case n == 0:
		return "-"
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
