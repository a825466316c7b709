package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password policy limits.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 72 // bcrypt ignores anything longer
)

// ErrWeakPassword is matched (errors.Is) by every *PolicyError.
var ErrWeakPassword = errors.New("password does not meet the policy")

// PolicyError lists every way a password fails the policy, in plain words.
type PolicyError struct {
	Problems []string
}

func (e *PolicyError) Error() string {
	return "password: " + strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrWeakPassword) true.
func (e *PolicyError) Is(target error) bool { return target == ErrWeakPassword }

// commonPasswords are refused whatever their length.
func isCommonPassword(lower string) bool {
	switch lower {
	case "password1234", "password12345", "password123!", "123456789012", "qwertyuiop12", "administrator",
		"letmein12345", "welcome12345", "changeme1234", "aggregator123", "iloveyou1234", "passwordpassword":
		return true
	}
	return false
}

// CheckPasswordPolicy reports every problem with password for the account
// (username and email may be empty). A nil result means it is acceptable.
func CheckPasswordPolicy(password, username, email string) error {
	var problems []string
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		problems = append(problems, fmt.Sprintf("must be at least %d characters (got %d)", MinPasswordLength, n))
	}
	if len(password) > MaxPasswordBytes {
		problems = append(problems, fmt.Sprintf("must be at most %d bytes (got %d)", MaxPasswordBytes, len(password)))
	}
	if !utf8.ValidString(password) {
		problems = append(problems, "must be valid UTF-8 text")
	}
	lower := strings.ToLower(password)
	if password != "" && strings.Count(password, password[:1]) == len(password) {
		problems = append(problems, "must not be one repeated character")
	}
	if isCommonPassword(lower) {
		problems = append(problems, "is a commonly used password")
	}
	if u := strings.ToLower(strings.TrimSpace(username)); len(u) >= 3 && strings.Contains(lower, u) {
		problems = append(problems, "must not contain the username")
	}
	if local, _, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@"); ok && len(local) >= 3 && strings.Contains(lower, local) {
		problems = append(problems, "must not contain the email name")
	}
	if len(problems) > 0 {
		return &PolicyError{Problems: problems}
	}
	return nil
}

// HashPassword hashes password with bcrypt at cost (0 means bcrypt.DefaultCost).
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches the bcrypt hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// GeneratePassword returns a random 20-character password that passes the
// policy (letters without look-alikes, digits and symbols).
func GeneratePassword() (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+="
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the choice
	for {
		out := make([]byte, 0, 20)
		buf := make([]byte, 32)
		for len(out) < 20 {
			if _, err := rand.Read(buf); err != nil {
				return "", fmt.Errorf("generate password: %w", err)
			}
			for _, c := range buf {
				if int(c) < limit && len(out) < 20 {
					out = append(out, alphabet[int(c)%len(alphabet)])
				}
			}
		}
		if p := string(out); CheckPasswordPolicy(p, "", "") == nil {
			return p, nil
		}
	}
}
