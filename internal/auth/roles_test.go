package auth

import (
	"strings"
	"testing"
)

func TestParseRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Role
		wantErr string
	}{
		{in: "admin", want: RoleAdmin},
		{in: " Developer ", want: RoleDeveloper},
		{in: "DESIGNER", want: RoleDesigner},
		{in: "executor", want: RoleExecutor},
		{in: "viewer", want: RoleViewer},
		{in: "executive", want: RoleExecutive},
		{in: "", wantErr: `unknown role ""`},
		{in: "root", wantErr: `unknown role "root": must be one of admin, developer, designer, executor, viewer, executive`},
	}
	for _, tt := range tests {
		got, err := ParseRole(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRole(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRolesAllValid(t *testing.T) {
	t.Parallel()
	if got := len(Roles()); got != 6 {
		t.Fatalf("len(Roles()) = %d, want 6", got)
	}
	for _, r := range Roles() {
		if !r.Valid() {
			t.Errorf("%q.Valid() = false", r)
		}
	}
	if Role("superuser").Valid() {
		t.Error(`Role("superuser").Valid() = true`)
	}
}
