// Command ndjsonbaseline is the CSV -> NDJSON benchmark's baseline: a hand-written Go program that does
// the work of bench/pipelines/transform-ndjson.yaml with encoding/csv and strconv. It reads the CSV
// written by bench/gen, parses each field to its type (int, float, RFC 3339 timestamp, bool), renames
// customer to customer_name, drops note, derives total = price * quantity and big = quantity > 10,
// keeps rows where active && quantity > 2, and writes them as NDJSON. It prints the rows written.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ndjsonbaseline in.csv out.ndjson")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 1<<20)
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // header: id,customer,email,country,amount,quantity,price,created_at,active,note
		return err
	}
	var b []byte
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		id, err1 := strconv.ParseInt(rec[0], 10, 64)
		amount, err2 := strconv.ParseFloat(rec[4], 64)
		qty, err3 := strconv.ParseInt(rec[5], 10, 64)
		price, err4 := strconv.ParseFloat(rec[6], 64)
		ts, err5 := time.Parse(time.RFC3339, rec[7])
		active, err6 := strconv.ParseBool(rec[8])
		if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
			return err
		}
		if !(active && qty > 2) {
			continue
		}
		b = append(b[:0], `{"id":`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `,"customer_name":`...)
		b = strconv.AppendQuote(b, rec[1])
		b = append(b, `,"email":`...)
		b = strconv.AppendQuote(b, rec[2])
		b = append(b, `,"country":`...)
		b = strconv.AppendQuote(b, rec[3])
		b = append(b, `,"amount":`...)
		b = strconv.AppendFloat(b, amount, 'f', -1, 64)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, qty, 10)
		b = append(b, `,"price":`...)
		b = strconv.AppendFloat(b, price, 'f', -1, 64)
		b = append(b, `,"created_at":"`...)
		b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","active":`...)
		b = strconv.AppendBool(b, active)
		b = append(b, `,"total":`...)
		b = strconv.AppendFloat(b, price*float64(qty), 'f', -1, 64)
		b = append(b, `,"big":`...)
		b = strconv.AppendBool(b, qty > 10)
		b = append(b, "}\n"...)
		if _, err := w.Write(b); err != nil {
			return err
		}
		n++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := o.Close(); err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}
