package salesforce

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/record"
)

// page is one page of records, each a list of text values in the order of the query's fields
// (nil: null).
type page struct {
	rows  [][]*string
	bytes int
	next  string // REST: nextRecordsUrl; Bulk: the Sforce-Locator of the next page ("" at the end)
}

// queryPage is a REST query answer.
type queryPage struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// jsonPage reads a REST query answer into a page of the fields names.
func jsonPage(body []byte, names []string) (*page, error) {
	var q queryPage
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("the body is not a query result: %v", err)
	}
	p := &page{rows: make([][]*string, 0, len(q.Records)), bytes: len(body)}
	if !q.Done {
		if q.NextRecordsURL == "" {
			return nil, errors.New("the query result says done: false without a nextRecordsUrl")
		}
		p.next = q.NextRecordsURL
	}
	for i, raw := range q.Records {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("record %d is not an object: %v", i, err)
		}
		// Salesforce keeps the field names' case; match them case-insensitively as SOQL does.
		lower := make(map[string]json.RawMessage, len(m))
		for k, v := range m {
			lower[strings.ToLower(k)] = v
		}
		row := make([]*string, len(names))
		for j, n := range names {
			v, ok := m[n]
			if !ok {
				v = lower[strings.ToLower(n)]
			}
			t, err := jsonText(v)
			if err != nil {
				return nil, fmt.Errorf("record %d, field %s: %v", i, n, err)
			}
			row[j] = t
		}
		p.rows = append(p.rows, row)
	}
	return p, nil
}

// jsonText is a JSON scalar as text (nil for null or absent); objects and arrays stay JSON.
func jsonText(v json.RawMessage) (*string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	var s string
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
	} else {
		s = string(v)
	}
	return &s, nil
}

// csvPage reads a Bulk API 2.0 result page (CSV with a header row) into a page of the fields
// names. Bulk results write null as an empty value. The page is bounded by the response cap.
func csvPage(body []byte, names []string) (*page, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.ReuseRecord = true
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return &page{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %v", err)
	}
	at := make(map[string]int, len(head))
	for i, h := range head {
		at[strings.ToLower(h)] = i
	}
	cols := make([]int, len(names))
	for j, n := range names {
		i, ok := at[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("CSV header: no column %s (the header has %d columns)", n, len(head))
		}
		cols[j] = i
	}
	p := &page{bytes: len(body)}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, fmt.Errorf("CSV: %v", err)
		}
		row := make([]*string, len(names))
		for j, i := range cols {
			if s := rec[i]; s != "" {
				row[j] = &s
			}
		}
		p.rows = append(p.rows, row)
	}
}

// parseValue reads Salesforce text as a value of kind k. Salesforce writes datetimes as
// 2024-01-02T03:04:05.000+0000 (the REST API) or ...Z (Bulk results).
func parseValue(s *string, k record.Kind) (record.Value, error) {
	if s == nil {
		return record.Null, nil
	}
	if k == record.KindTimestamp {
		t, err := parseTime(*s)
		if err != nil {
			return record.Null, err
		}
		return record.Timestamp(t), nil
	}
	return record.Parse(*s, k)
}

// parseTime reads a Salesforce datetime.
func parseTime(s string) (time.Time, error) {
	if n := len(s); n > 5 && (s[n-5] == '+' || s[n-5] == '-') && isDigits(s[n-4:]) {
		s = s[:n-2] + ":" + s[n-2:]
	}
	return record.ParseTime(s, time.UTC)
}

func isDigits(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && !strings.ContainsAny(s, "+-")
}

// soqlTime is t as a SOQL datetime literal.
func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
