package store

import "testing"

func TestConflictTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, entity, field string
		sqlite            bool
	}{
		{in: "ux_users_username", entity: "users", field: "username"},
		{in: "ux_api_tokens_token_hash", entity: "api_tokens", field: "token_hash"},
		{in: "ux_dashboard_layouts_default", entity: "dashboard_layouts", field: "is_default"},
		{in: "users_pkey", entity: "users", field: "id"},
		{in: "pipeline_versions_pkey", entity: "pipeline_versions", field: "version"},
		{in: "something_else"},
		{sqlite: true, in: "constraint failed: UNIQUE constraint failed: index 'ux_users_email' (2067)", entity: "users", field: "email"},
		{sqlite: true, in: "constraint failed: UNIQUE constraint failed: uploaded_files.id (1555)", entity: "uploaded_files", field: "id"},
		{sqlite: true, in: "UNIQUE constraint failed: pipeline_versions.pipeline_id, pipeline_versions.version", entity: "pipeline_versions", field: "version"},
		{sqlite: true, in: "no marker here"},
	}
	for _, tt := range tests {
		var entity, field string
		if tt.sqlite {
			entity, field = sqliteConflictTarget(tt.in)
		} else {
			entity, field = conflictTarget(tt.in)
		}
		if entity != tt.entity || field != tt.field {
			t.Errorf("%q -> (%q, %q), want (%q, %q)", tt.in, entity, field, tt.entity, tt.field)
		}
	}
}

func TestWhereNumbersPlaceholders(t *testing.T) {
	t.Parallel()
	var w where
	w.add("a = ?", 1)
	w.add("(b LIKE ? OR c LIKE ?)", "x", "y")
	w.add("d IS NULL")
	if got, want := w.sql(), " WHERE a = $1 AND (b LIKE $2 OR c LIKE $3) AND d IS NULL"; got != want {
		t.Fatalf("sql() = %q, want %q", got, want)
	}
	if w.next() != 4 {
		t.Fatalf("next() = %d, want 4", w.next())
	}
	if got := valuesList(2, 3); got != "($1, $2, $3), ($4, $5, $6)" {
		t.Fatalf("valuesList = %q", got)
	}
	if got := likePattern(`50%_a\b`); got != `%50\%\_a\\b%` {
		t.Fatalf("likePattern = %q", got)
	}
}
