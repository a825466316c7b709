// Command spillgen writes the input of the bounded-memory benchmark (bench/spill.sh): a CSV of N rows
// (id, seq, name, amount) whose ids take K distinct values, each id appearing N/K times spread over
// the whole file (id = i*p mod K for a prime p that does not divide K), so a dedup keep-last holds
// every key until the end. The data is deterministic.
//
//	go run ./bench/spillgen -rows 20000000 -keys 10000000 -out /tmp/spill/in.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
)

func main() {
	rows := flag.Int64("rows", 20_000_000, "rows to write")
	keys := flag.Int64("keys", 10_000_000, "distinct ids")
	out := flag.String("out", "in.csv", "output file")
	flag.Parse()
	if err := run(*rows, *keys, *out); err != nil {
		fmt.Fprintln(os.Stderr, "spillgen:", err)
		os.Exit(1)
	}
}

func run(rows, keys int64, out string) error {
	if keys <= 0 || rows <= 0 {
		return fmt.Errorf("rows and keys must be positive")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	const p = 1_000_003 // prime; the ids i*p mod keys cover every key once per keys rows when gcd(p, keys) = 1
	if keys%p == 0 {
		return fmt.Errorf("keys must not be a multiple of %d", p)
	}
	w.WriteString("id,seq,name,amount\n")
	var b []byte
	for i := range rows {
		id := (i * p) % keys
		b = strconv.AppendInt(b[:0], id, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, i, 10)
		b = append(b, ",customer-"...)
		b = strconv.AppendInt(b, (i*7)%100000, 36)
		b = append(b, ',')
		b = strconv.AppendInt(b, i%100000, 10)
		b = append(b, '.', byte('0'+i%10), byte('0'+i%7), '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
