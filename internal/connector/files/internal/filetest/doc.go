// Package filetest holds test helpers shared by the file connectors' tests: write a file into a
// fresh root and read a source to the end, collecting rows as text and rejects.
package filetest
