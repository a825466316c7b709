// Package exactlyonce holds the crash-resume test of the SQL destinations: a helper child process
// runs a CSV -> database pipeline with small commit intervals, the test SIGKILLs it at a random row
// count, resumes it, and checks that the table holds every source row exactly once, for every write
// mode on PostgreSQL and MariaDB. The package has no code of its own.
package exactlyonce
