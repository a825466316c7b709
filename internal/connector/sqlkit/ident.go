package sqlkit

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// QuotePostgres quotes an identifier for PostgreSQL: "name" with embedded quotes doubled.
func QuotePostgres(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteMySQL quotes an identifier for MySQL and MariaDB: `name` with embedded backticks doubled.
func QuoteMySQL(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteSQLServer quotes an identifier for SQL Server: [name] with embedded ] doubled.
func QuoteSQLServer(name string) string {
	return "[" + strings.ReplaceAll(name, "]", "]]") + "]"
}

// CheckIdent rejects identifiers no database accepts: empty, a NUL byte, or longer than max bytes
// (0: no limit). what names the identifier in the message ("table", "column").
func CheckIdent(what, name string, max int) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%s name %q contains a NUL byte", what, name)
	case max > 0 && len(name) > max:
		return fmt.Errorf("%s name %q is %d bytes long; the limit is %d", what, name, len(name), max)
	}
	return nil
}

// QuoteAll quotes each name with q and joins them with ", ".
func QuoteAll(q func(string) string, names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(n))
	}
	return b.String()
}

// Qualified quotes schema.name (just name when schema is empty).
func Qualified(q func(string) string, schema, name string) string {
	if schema == "" {
		return q(name)
	}
	return q(schema) + "." + q(name)
}

// StagingName names a staging table for a run: prefix, then the run id reduced to [a-z0-9_], cut to
// fit max bytes. The same run id always gives the same name, so a resumed run finds its staging table.
func StagingName(prefix, target, runID string, max int) string {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	id := clean(runID)
	if id == "" {
		id = "run"
	}
	name := prefix + clean(target) + "_" + id
	if max > 0 && len(name) > max {
		// keep the run id (it makes the name unique), shorten the target part
		keep := max - len(prefix) - len(id) - 1
		t := clean(target)
		if keep < 0 {
			keep = 0
		}
		if len(t) > keep {
			t = t[:keep]
		}
		name = prefix + t + "_" + id
		if len(name) > max {
			name = name[:max]
		}
	}
	return name
}

// RandomID returns 12 random hex characters, for staging names when a run has no id.
func RandomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
