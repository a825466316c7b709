// Command gen writes benchmark input: N rows of 10 mixed columns (int id, strings with quoted commas
// and newlines, decimal, int, float, timestamp, bool, date), with 0.5% duplicate ids (every 200th
// row repeats an earlier id). It writes CSV, NDJSON or a JSON array. The data is deterministic.
//
//	go run ./bench/gen -rows 1000000 -format csv -out /tmp/bench/in.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to write")
	format := flag.String("format", "csv", "csv | ndjson | json")
	out := flag.String("out", "-", "output file (- for stdout)")
	flag.Parse()
	if err := run(*rows, *format, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(rows int, format, out string) error {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{w: bw, format: format}
	if err := g.all(rows); err != nil {
		return err
	}
	return bw.Flush()
}

var (
	countries = []string{"FR", "DE", "US", "GB", "NL", "ES", "IT", "JP", "BR", "CA"}
	names     = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson", "Niklaus Wirth", "Margaret Hamilton"}
	base      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

type gen struct {
	w      *bufio.Writer
	format string
	buf    []byte
}

// row fields: id, customer, email, country, amount, quantity, price, created_at, active, note
func (g *gen) all(rows int) error {
	switch g.format {
	case "csv":
		g.w.WriteString("id,customer,email,country,amount,quantity,price,created_at,active,note\n")
	case "json":
		g.w.WriteString("[\n")
	case "ndjson":
	default:
		return fmt.Errorf("unknown format %q (csv, ndjson, json)", g.format)
	}
	for i := 1; i <= rows; i++ {
		id := i
		if i%200 == 0 { // 0.5% duplicates: repeat an earlier id
			id = i - 100
		}
		name := names[i%len(names)]
		customer := name
		if i%3 == 0 {
			customer = name + ", Ltd" // a comma: quoted
		}
		note := "ok"
		switch {
		case i%50 == 0:
			note = "line one\nline two" // a newline inside a quoted field
		case i%7 == 0:
			note = `said "hello"`
		}
		amount := strconv.Itoa(i%100000) + "." + fmt.Sprintf("%02d", i%100)
		ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		g.row(i, id, customer, fmt.Sprintf("user%d@example.com", id), countries[i%len(countries)], amount,
			i%20+1, float64(i%1000)/7, ts, i%4 != 0, note, rows)
	}
	if g.format == "json" {
		g.w.WriteString("]\n")
	}
	return nil
}

func (g *gen) row(i, id int, customer, email, country, amount string, qty int, price float64, ts string, active bool, note string, rows int) {
	b := g.buf[:0]
	if g.format == "csv" {
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, ',')
		b = csvField(b, customer)
		b = append(b, ',')
		b = append(b, email...)
		b = append(b, ',')
		b = append(b, country...)
		b = append(b, ',')
		b = append(b, amount...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(qty), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, price, 'f', 4, 64)
		b = append(b, ',')
		b = append(b, ts...)
		b = append(b, ',')
		b = strconv.AppendBool(b, active)
		b = append(b, ',')
		b = csvField(b, note)
		b = append(b, '\n')
	} else {
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, `,"customer":`...)
		b = strconv.AppendQuote(b, customer)
		b = append(b, `,"email":`...)
		b = strconv.AppendQuote(b, email)
		b = append(b, `,"country":`...)
		b = strconv.AppendQuote(b, country)
		b = append(b, `,"amount":`...)
		b = append(b, amount...)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, int64(qty), 10)
		b = append(b, `,"price":`...)
		b = strconv.AppendFloat(b, price, 'f', 4, 64)
		b = append(b, `,"created_at":`...)
		b = strconv.AppendQuote(b, ts)
		b = append(b, `,"active":`...)
		b = strconv.AppendBool(b, active)
		b = append(b, `,"note":`...)
		b = strconv.AppendQuote(b, note)
		b = append(b, '}')
		if g.format == "json" && i < rows {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	g.buf = b
	g.w.Write(b)
}

func csvField(b []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
