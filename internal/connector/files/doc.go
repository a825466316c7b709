// Package files groups the file connectors, one subpackage per format: csv (and tsv), json, ndjson,
// xml and excel, each a source and a destination built on internal/filekit (root confinement,
// uploads, gzip input, the atomic resumable Sink). This package itself resolves where a
// file destination writes (OutputPath, for the run outputs the server lists) and keeps
// docs/connectors/files.md in step with the connectors' config specs (see docs_test.go).
package files
