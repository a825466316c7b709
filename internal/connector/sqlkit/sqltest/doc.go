// Package sqltest holds the test helpers the database connectors' tests share: reading a whole
// source, writing batches through one writer, building configs and batches. Failures end the test
// with t.Fatal naming the step (open, next, write, commit, close).
package sqltest
