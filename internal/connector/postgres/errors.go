package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dataaggregator/aggregator/internal/connector"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// isTransient reports failures worth retrying: the connection broke, the server is shutting down or
// restarting, a serialization failure or deadlock.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	code := pgCode(err)
	switch {
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "40001", code == "40P01", code == "53300":
		return true
	case code != "":
		return false
	}
	var netErr net.Error
	var pgConnErr *pgconn.ConnectError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) ||
		errors.As(err, &pgConnErr) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// isDataError reports a failure caused by the rows themselves (a value the column refuses, a
// constraint), worth isolating row by row.
func isDataError(err error) bool {
	code := pgCode(err)
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// wrap adds context and marks transient failures so the engine can retry them.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if isTransient(err) {
		return fmt.Errorf("%s: %w (%w)", what, err, connector.ErrTransient)
	}
	if errors.Is(err, connector.ErrNotFound) || errors.Is(err, connector.ErrConfig) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if isUndefinedTable(err) {
		return fmt.Errorf("%s: %w (%w)", what, err, connector.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

var copyLineRe = regexp.MustCompile(`COPY [^,]+, line (\d+)`)

// copyLine returns the 0-based row of a failed COPY from the error's context, or -1.
func copyLine(err error, n int) int {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return -1
	}
	m := copyLineRe.FindStringSubmatch(pgErr.Where)
	if m == nil {
		return -1
	}
	line, err2 := strconv.Atoi(m[1])
	if err2 != nil || line < 1 || line > n {
		return -1
	}
	return line - 1
}
