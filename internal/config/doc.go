// Package config turns the process environment (and, in cmd, flags) into one
// validated, plain-data Config.
//
// Load parses every variable and reports every malformed value at once; it
// fills defaults but does not judge combinations. Callers may then override
// fields (from flags) and must call Validate, which reports every remaining
// problem at once, each message starting with the variable name. EnsureSecret
// provides the development-only generated SECRET_KEY kept in DATA_DIR.
//
// Config never prints secrets: String, GoString and LogValue redact them.
package config
