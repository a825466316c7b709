package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPasswordPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password, username, email string
		want                      []string // substrings of the problems; none means valid
	}{
		{password: "correct horse battery"},
		{password: "Zx9!kq2#Lm4$"},
		{password: "short", want: []string{"at least 12 characters (got 5)"}},
		{password: "", want: []string{"at least 12 characters (got 0)"}},
		{password: strings.Repeat("ab", 40), want: []string{"at most 72 bytes (got 80)"}},
		{password: "aaaaaaaaaaaaaaa", want: []string{"one repeated character"}},
		{password: "password1234", want: []string{"commonly used"}},
		{password: "my-name-is-alice!", username: "Alice", want: []string{"must not contain the username"}},
		{password: "bob.smith-secret", email: "bob.smith@example.com", want: []string{"must not contain the email name"}},
		{password: "tiny\xff", want: []string{"at least 12", "valid UTF-8"}},
		{password: "ünïcödé-passwörd"},
	}
	for _, tt := range tests {
		err := CheckPasswordPolicy(tt.password, tt.username, tt.email)
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%q: unexpected %v", tt.password, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || !errors.Is(err, ErrWeakPassword) {
			t.Errorf("%q: error = %v, want *PolicyError", tt.password, err)
			continue
		}
		if len(pe.Problems) != len(tt.want) {
			t.Errorf("%q: problems %q, want %d", tt.password, pe.Problems, len(tt.want))
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %q does not mention %q", tt.password, err, w)
			}
		}
		if tt.password != "" && strings.Contains(err.Error(), tt.password) {
			t.Errorf("error %q echoes the password", err)
		}
	}
}

func TestHashAndCheckPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$04$") || !CheckPassword(h, "correct horse battery") || CheckPassword(h, "correct horse batterY") {
		t.Fatalf("hash %q does not verify as expected", h)
	}
	if CheckPassword("not a hash", "x") {
		t.Fatal("garbage hash verified")
	}
}

func TestGeneratePassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 20 || CheckPasswordPolicy(p, "", "") != nil || seen[p] {
			t.Fatalf("generated %q", p)
		}
		seen[p] = true
	}
}
