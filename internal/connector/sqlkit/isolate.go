package sqlkit

import (
	"context"
	"fmt"
)

// Isolate finds the bad rows of a batch whose bulk load failed. load loads the given rows (indices
// into the batch) and must leave nothing behind when it fails (a savepoint, a statement that is atomic
// by itself). isData tells a data error (a bad row: retry smaller) from anything else (connection
// lost, cancelled: give up and return it). hint, when it can, names the failing row from the error
// (its position in rows); -1 when it cannot.
//
// failed, when not nil, is the error a load of all rows already returned: the first load is skipped.
//
// The rows are loaded in halves until each failure is pinned to one row; every good row is loaded
// once in the end, and the function returns the bad rows with their errors. The result is all or
// nothing for the good rows only in the sense each load is atomic: the caller's transaction decides.
func Isolate(ctx context.Context, rows []int, failed error, load func(ctx context.Context, rows []int) error, isData func(error) bool, hint func(error, int) int) (map[int]error, error) {
	bad := map[int]error{}
	var run func(rows []int) error
	run = func(rows []int) error {
		if len(rows) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := failed
		failed = nil
		if err == nil {
			err = load(ctx, rows)
		}
		if err == nil {
			return nil
		}
		if !isData(err) {
			return err
		}
		if len(rows) == 1 {
			bad[rows[0]] = err
			return nil
		}
		if hint != nil {
			if h := hint(err, len(rows)); h >= 0 && h < len(rows) {
				// rows before h loaded fine until h failed: load them, reject h only if it fails alone.
				if err := run(rows[:h]); err != nil {
					return err
				}
				if err := run(rows[h : h+1]); err != nil {
					return err
				}
				return run(rows[h+1:])
			}
		}
		mid := len(rows) / 2
		if err := run(rows[:mid]); err != nil {
			return err
		}
		return run(rows[mid:])
	}
	if err := run(rows); err != nil {
		return bad, fmt.Errorf("isolate bad rows: %w", err)
	}
	return bad, nil
}
