// Package testutil gives tests isolated use of the real services on the machine: a fresh PostgreSQL
// schema, a fresh MariaDB/MySQL database, a Redis key prefix. Each is dropped when the test ends.
//
// Addresses come from environment variables with the local defaults:
// AGG_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test?sslmode=disable),
// AGG_TEST_MYSQL_DSN (root@tcp(127.0.0.1:3306)/test), AGG_TEST_REDIS_URL (redis://127.0.0.1:6379/0).
// When a service is unreachable the test is skipped with a message naming it, except under CI=true,
// where it fails: a skipped database test in CI would hide a broken connector.
package testutil
