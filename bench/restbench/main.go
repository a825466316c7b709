// Command restbench is the REST connector benchmark's two halves (bench/rest.sh):
//
//	restbench serve -records 1000000 -page 1000   # a paginated JSON API on 127.0.0.1; prints its URL
//	restbench baseline -url URL -out out.ndjson   # a bare Go HTTP client loop over the same pages
//
// The API answers GET /items?offset=N&limit=M with {"data":[...],"next":"/items?offset=...&limit=..."}
// (next is null on the last page); records are generated on the fly, the same for every request.
// The baseline fetches every page with net/http, decodes it with encoding/json into typed structs and
// writes each record as one NDJSON line, the work `aggregator run` does for the rest -> ndjson pipeline.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: restbench serve|baseline [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "baseline":
		err = baseline(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "restbench:", err)
		os.Exit(1)
	}
}

// page appends the records [off, off+n) of a total of records as the API's body.
func page(dst []byte, off, n, records int) []byte {
	end := min(off+n, records)
	dst = append(dst, `{"data":[`...)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := off; i < end; i++ {
		if i > off {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `,"name":"customer `...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `","email":"c`...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `@example.com","amount":`...)
		dst = strconv.AppendFloat(dst, float64(i%10000)/100, 'f', 2, 64)
		dst = append(dst, `,"active":`...)
		dst = strconv.AppendBool(dst, i%3 != 0)
		dst = append(dst, `,"updated_at":"`...)
		dst = base.Add(time.Duration(i)*time.Second).AppendFormat(dst, time.RFC3339)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `],"next":`...)
	if end < records {
		dst = fmt.Appendf(dst, `"/items?offset=%d&limit=%d"`, end, n)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	records := fs.Int("records", 1_000_000, "records the API holds")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n <= 0 {
			n = 1000
		}
		body := page(make([]byte, 0, n*160), off, n, *records)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
}

type record struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	Amount    float64 `json:"amount"`
	Active    bool    `json:"active"`
	UpdatedAt string  `json:"updated_at"`
}

func baseline(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ExitOnError)
	base := fs.String("url", "", "the API's URL")
	limit := fs.Int("limit", 1000, "records per page")
	out := fs.String("out", "baseline.ndjson", "NDJSON output")
	fs.Parse(args)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	next := fmt.Sprintf("/items?offset=0&limit=%d", *limit)
	n := 0
	for next != "" {
		resp, err := http.Get(*base + next)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", next, resp.Status)
		}
		var p struct {
			Data []record `json:"data"`
			Next *string  `json:"next"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		for i := range p.Data {
			b, err := json.Marshal(&p.Data[i])
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
		n += len(p.Data)
		next = ""
		if p.Next != nil {
			next = *p.Next
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "baseline: %d records\n", n)
	return nil
}
