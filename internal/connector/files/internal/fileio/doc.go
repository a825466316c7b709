// Package fileio holds what every file connector shares: confinement of local paths to the
// configured roots (symlinks resolved, ".." escapes refused), upload resolution, input opening with
// gzip detection and resumable seeking, a read window that caps one record's size, and Sink, the
// atomic, resumable destination file (temp file + fsync + rename, commit records in a sidecar).
package fileio
