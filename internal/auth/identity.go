package auth

import (
	"fmt"
	"net/mail"

	"github.com/dataaggregator/aggregator/internal/store"
)

// ValidateUsername checks a user name: 3 to 64 characters, letters, digits,
// '.', '_' and '-', starting with a letter or digit. Errors wrap store.ErrInvalid.
func ValidateUsername(name string) error {
	if n := len(name); n < 3 || n > 64 {
		return fmt.Errorf("%w: username must be 3 to 64 characters, got %d", store.ErrInvalid, n)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '.' && r != '_' && r != '-')) {
			return fmt.Errorf("%w: username %q may only contain letters, digits, '.', '_' and '-', and must start with a letter or digit", store.ErrInvalid, name)
		}
	}
	return nil
}

// ValidateEmail checks that email is a single plain address (no display
// name), at most 254 characters. Errors wrap store.ErrInvalid.
func ValidateEmail(email string) error {
	if len(email) > 254 {
		return fmt.Errorf("%w: email must be at most 254 characters", store.ErrInvalid)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fmt.Errorf("%w: email %q is not a valid address such as name@example.com", store.ErrInvalid, email)
	}
	return nil
}
