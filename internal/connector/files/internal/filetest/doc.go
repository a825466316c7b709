// Package filetest holds test helpers shared by the file connectors' tests: write a file into a
// fresh root, read a source to the end (collecting rows as text and rejects), the conformance harness
// of a file connector, and the read and write benchmarks.
package filetest
