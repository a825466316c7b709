package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// Tx is a transaction of the store: what is done through it commits or rolls back together. A
// queue inserts the job of a run in the transaction that creates the run (River's InsertTx takes
// SQL()), so a run is never queued without its job, nor a job left without its run.
//
// A Tx is valid only inside the function given to InTx, and is not safe for concurrent use.
type Tx struct {
	s *Store // bound to the transaction
}

type txState struct {
	tx          *sql.Tx
	afterCommit []func()
}

// InTx runs fn in one transaction and commits it when fn returns nil; an error or a panic from fn
// rolls it back (the panic goes on). Functions registered with Tx.AfterCommit run after a
// successful commit, in order. InTx called through a store bound to a transaction is not
// supported: use the Tx given to fn.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if s.tx != nil {
		return errors.New("store: InTx inside a transaction")
	}
	sqlTx, err := s.pool.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(err, "begin")
	}
	st := &txState{tx: sqlTx}
	bound := *s
	bound.db, bound.tx = sqlTx, st
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&Tx{s: &bound}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return s.mapErr(err, "commit")
	}
	committed = true
	for _, f := range st.afterCommit {
		f()
	}
	return nil
}

// SQL is the database/sql transaction, for a component that writes its own tables in it (a queue
// driver's InsertTx).
func (t *Tx) SQL() *sql.Tx { return t.s.tx.tx }

// AfterCommit registers f to run after the transaction commits (not when it rolls back): a queue
// wakes its workers there.
func (t *Tx) AfterCommit(f func()) { t.s.tx.afterCommit = append(t.s.tx.afterCommit, f) }

// CreateRun is Store.CreateRun in the transaction.
func (t *Tx) CreateRun(ctx context.Context, r Run) (Run, error) { return t.s.CreateRun(ctx, r) }

// GetRun is Store.GetRun in the transaction.
func (t *Tx) GetRun(ctx context.Context, id string) (Run, error) { return t.s.GetRun(ctx, id) }

// AppendLogs is Store.AppendLogs in the transaction.
func (t *Tx) AppendLogs(ctx context.Context, entries []LogEntry) error {
	return t.s.AppendLogs(ctx, entries)
}

// RequeueRun is Store.RequeueRun in the transaction.
func (t *Tx) RequeueRun(ctx context.Context, id, workerID, reason string) (Run, error) {
	return t.s.RequeueRun(ctx, id, workerID, reason)
}

// DecideReview is Store.DecideReview in the transaction.
func (t *Tx) DecideReview(ctx context.Context, id string, review json.RawMessage, to RunStatus, errMsg string) (Run, error) {
	return t.s.DecideReview(ctx, id, review, to, errMsg)
}
