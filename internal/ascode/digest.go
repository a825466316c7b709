package ascode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// PipelineDigest is the digest of a pipeline as the server holds it: its spec text, with line
// endings and the final newline normalised. The server records it when apply marks the pipeline
// as managed from a file, and compares it with the current one to tell drift.
func PipelineDigest(specText string) string {
	return digest([]byte(NormalizeText(specText)))
}

// ObjectDigest is the digest of a saved connector or transformation as the API shows it (secret
// values redacted, so that a refreshed OAuth token is not drift).
func ObjectDigest(name, typ, description string, config map[string]any) string {
	b, err := json.Marshal(map[string]any{"name": name, "type": typ, "description": description, "config": orEmpty(config)})
	if err != nil {
		// Configs come from JSON; a value that cannot be encoded again is reported as drift.
		return "unencodable"
	}
	return digest(b)
}

// NormalizeText turns CRLF into LF and ends the text with exactly one newline.
func NormalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimRight(s, "\n") + "\n"
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
