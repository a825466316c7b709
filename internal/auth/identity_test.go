package auth

import (
	"errors"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
)

func TestValidateUsernameAndEmail(t *testing.T) {
	t.Parallel()
	users := []struct {
		in string
		ok bool
	}{
		{"alice", true}, {"a.b-c_d9", true}, {"9lives", true}, {"ab", false}, {"", false},
		{"-dash", false}, {".dot", false}, {"has space", false}, {"ümlaut", false}, {"a@b", false},
		{string(make([]byte, 65)), false},
	}
	for _, tt := range users {
		err := ValidateUsername(tt.in)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("ValidateUsername(%q) = %v, ok want %v", tt.in, err, tt.ok)
		}
	}
	emails := []struct {
		in string
		ok bool
	}{
		{"a@example.com", true}, {"first.last+tag@sub.example.org", true}, {"admin@localhost", true},
		{"", false}, {"no-at", false}, {"Alice <a@example.com>", false}, {"a@", false}, {"a b@example.com", false},
	}
	for _, tt := range emails {
		err := ValidateEmail(tt.in)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("ValidateEmail(%q) = %v, ok want %v", tt.in, err, tt.ok)
		}
	}
}
