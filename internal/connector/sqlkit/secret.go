package sqlkit

import "strings"

// Scrub returns err with every occurrence of each secret (of 3 bytes or more) in its message replaced
// by ********. errors.Is and errors.As still see the wrapped chain.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := ScrubString(msg, secrets...)
	if out == msg {
		return err
	}
	return &scrubbed{msg: out, err: err}
}

// ScrubString replaces every secret (of 3 bytes or more) in s by ********.
func ScrubString(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, "********")
		}
	}
	return s
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
