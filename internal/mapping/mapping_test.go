package mapping

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/record"
)

func fields(spec ...string) []record.Field {
	var out []record.Field
	for _, s := range spec {
		name, kind, _ := strings.Cut(s, ":")
		k := record.KindString
		if kind != "" {
			var err error
			if k, err = record.ParseKind(kind); err != nil {
				panic(err)
			}
		}
		out = append(out, record.Field{Name: name, Kind: k})
	}
	return out
}

func TestSuggestPairs(t *testing.T) {
	cases := []struct {
		src, dst   string
		match      Match
		confidence float64
		cast       bool
		reason     string // substring
	}{
		{"email", "email", Exact, 1, false, "same name; same type"},
		{"Email", "email", CaseInsensitive, 0.97, false, "same name ignoring case"},
		{"customer_id:int", "CustomerId:int", Normalized, 0.94, false, "same words (customer id)"},
		{"customer-id:int", "customer_id:int", Normalized, 0.94, false, "ignoring separators"},
		{"HTTPStatus:int", "http_status:int", Normalized, 0.94, false, ""},
		{"address1", "address_1", Normalized, 0.94, false, ""},
		{"qty:int", "quantity:int", Abbreviation, 0.88, false, "abbreviations are expanded (quantity)"},
		{"amt:decimal", "amount:decimal", Abbreviation, 0.88, false, ""},
		{"order_no", "order_number", Abbreviation, 0.88, false, ""},
		{"dob:date", "date_of_birth:date", Abbreviation, 0.88, false, "(date of birth)"},
		{"cust_id:int", "customer_id:int", Abbreviation, 0.88, false, ""},
		{"customer_email", "customer_e_mail", Similar, 0.84, false, "similar names (spelling 99%)"},
		{"email_customer", "customer_email", Similar, 0.85, false, "similar names (shared words 100%)"},
		{"billing_address_line", "address_line", Similar, 0.68, false, "shared words 80%"},
		{"qty:string", "quantity:int", Abbreviation, 0.7, true, "string must parse as int"},
		{"qty:int", "quantity:float", Abbreviation, 0.84, true, "int widens to float"},
		{"created:timestamp", "created:string", Exact, 0.95, true, "timestamp is written as string"},
	}
	for _, tc := range cases {
		t.Run(tc.src+"~"+tc.dst, func(t *testing.T) {
			res := Suggest(fields(tc.src), fields(tc.dst), Options{})
			if len(res.Suggestions) != 1 {
				t.Fatalf("suggestions = %+v", res)
			}
			s := res.Suggestions[0]
			if s.Match != tc.match || s.Confidence != tc.confidence || s.Cast != tc.cast || !strings.Contains(s.Reason, tc.reason) {
				t.Errorf("got %s %.2f cast=%v %q; want %s %.2f cast=%v containing %q", s.Match, s.Confidence, s.Cast, s.Reason, tc.match, tc.confidence, tc.cast, tc.reason)
			}
		})
	}
}

func TestNoSuggestion(t *testing.T) {
	cases := []struct{ src, dst string }{
		{"email", "quantity"},
		{"name", "amount"},
		{"active:bool", "active:date"}, // same name, but no conversion: 0.3 is below the threshold
		{"id", "uid_hash_value"},
	}
	for _, tc := range cases {
		res := Suggest(fields(tc.src), fields(tc.dst), Options{})
		if len(res.Suggestions) != 0 {
			t.Errorf("%s ~ %s: suggestions = %+v, want none", tc.src, tc.dst, res.Suggestions)
		}
		if len(res.UnmatchedSource) != 1 || len(res.UnmatchedDestination) != 1 {
			t.Errorf("%s ~ %s: unmatched = %v / %v", tc.src, tc.dst, res.UnmatchedSource, res.UnmatchedDestination)
		}
	}
	res := Suggest(fields("active:bool"), fields("active:date"), Options{MinConfidence: 0.1})
	if len(res.Suggestions) != 1 || res.Suggestions[0].TypeCompatible || !strings.Contains(res.Suggestions[0].Reason, "bool does not convert to date") {
		t.Errorf("low threshold: %+v", res.Suggestions)
	}
}

func TestSuggestAssignment(t *testing.T) {
	src := fields("CustomerID:int", "customer_name", "e-mail", "qty:int", "amt:decimal", "notes", "created_at:timestamp")
	dst := fields("customer_id:int", "customer_name", "email", "quantity:int", "amount:decimal", "created:timestamp", "region")
	res := Suggest(src, dst, Options{})
	got := map[string]string{}
	for _, s := range res.Suggestions {
		got[s.Destination] = s.Source
	}
	want := map[string]string{
		"customer_id":   "CustomerID",
		"customer_name": "customer_name",
		"email":         "e-mail",
		"quantity":      "qty",
		"amount":        "amt",
		"created":       "created_at",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"notes"}, res.UnmatchedSource); diff != "" {
		t.Errorf("unmatched source (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"region"}, res.UnmatchedDestination); diff != "" {
		t.Errorf("unmatched destination (-want +got):\n%s", diff)
	}
	for i := 1; i < len(res.Suggestions); i++ {
		if res.Suggestions[i].Confidence > res.Suggestions[i-1].Confidence {
			t.Errorf("suggestions not sorted by confidence: %+v", res.Suggestions)
		}
	}
}

// A destination is matched at most once, and an exact match is not given up for two weaker ones.
func TestEachFieldOnce(t *testing.T) {
	src := fields("id:int", "ID:int", "Id:int")
	dst := fields("id:int", "identifier:int")
	res := Suggest(src, dst, Options{})
	seenS, seenD := map[string]bool{}, map[string]bool{}
	for _, s := range res.Suggestions {
		if seenS[s.Source] || seenD[s.Destination] {
			t.Fatalf("field used twice: %+v", res.Suggestions)
		}
		seenS[s.Source], seenD[s.Destination] = true, true
	}
	if res.Suggestions[0].Source != "id" || res.Suggestions[0].Destination != "id" || res.Suggestions[0].Confidence != 1 {
		t.Errorf("first suggestion = %+v, want the exact pair", res.Suggestions[0])
	}
	if len(res.Suggestions) != 2 || res.Suggestions[1].Destination != "identifier" || res.Suggestions[1].Source != "ID" {
		t.Errorf("suggestions = %+v", res.Suggestions)
	}
}

func TestWords(t *testing.T) {
	cases := map[string][]string{
		"customer_id":  {"customer", "id"},
		"CustomerId":   {"customer", "id"},
		"customer-id":  {"customer", "id"},
		"HTTPServer":   {"http", "server"},
		"address1":     {"address", "1"},
		"  spaced out": {"spaced", "out"},
		"été_prix":     {"été", "prix"},
		"":             nil,
	}
	for in, want := range cases {
		if diff := cmp.Diff(want, words(in)); diff != "" {
			t.Errorf("words(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.84},
		{"dixon", "dicksonx", 0.813},
		{"abc", "abc", 1},
		{"abc", "", 0},
		{"", "", 1},
		{"abc", "xyz", 0},
	}
	for _, tc := range cases {
		if got := jaroWinkler(tc.a, tc.b); got < tc.want-0.001 || got > tc.want+0.001 {
			t.Errorf("jaroWinkler(%q, %q) = %.3f, want %.3f", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestEmpty(t *testing.T) {
	res := Suggest(nil, fields("a"), Options{})
	if len(res.Suggestions) != 0 || len(res.UnmatchedSource) != 0 || !cmp.Equal(res.UnmatchedDestination, []string{"a"}) {
		t.Errorf("result = %+v", res)
	}
}

// BenchmarkSuggest2000 maps two schemas of 2,000 fields each (the API's limit): 4 million pairs.
func BenchmarkSuggest2000(b *testing.B) {
	var src, dst []record.Field
	for i := range 2000 {
		src = append(src, record.Field{Name: fmt.Sprintf("customer_attr_%d_qty", i), Kind: record.KindInt})
		dst = append(dst, record.Field{Name: fmt.Sprintf("CustomerAttr%dQuantity", (i*7)%2000), Kind: record.KindInt})
	}
	b.ResetTimer()
	for range b.N {
		res := Suggest(src, dst, Options{})
		if len(res.Suggestions) != 2000 {
			b.Fatalf("%d suggestions", len(res.Suggestions))
		}
	}
}

func TestTypeFit(t *testing.T) {
	cases := []struct {
		s, d       record.Kind
		factor     float64
		cast, comp bool
	}{
		{record.KindInt, record.KindInt, 1, false, true},
		{record.KindNull, record.KindDate, 1, false, true},
		{record.KindInt, record.KindFloat, 0.95, true, true},
		{record.KindDate, record.KindTimestamp, 0.95, true, true},
		{record.KindTimestamp, record.KindString, 0.95, true, true},
		{record.KindBool, record.KindJSON, 0.95, true, true},
		{record.KindString, record.KindInt, 0.8, true, true},
		{record.KindFloat, record.KindInt, 0.8, true, true},
		{record.KindTimestamp, record.KindDate, 0.8, true, true},
		{record.KindJSON, record.KindDecimal, 0.8, true, true},
		{record.KindBool, record.KindDate, 0.3, true, false},
		{record.KindBytes, record.KindInt, 0.3, true, false},
		{record.KindDate, record.KindInt, 0.3, true, false},
	}
	for _, tc := range cases {
		f, cast, comp, why := typeFit(tc.s, tc.d)
		if f != tc.factor || cast != tc.cast || comp != tc.comp || why == "" {
			t.Errorf("%s -> %s = %v %v %v %q, want %v %v %v", tc.s, tc.d, f, cast, comp, why, tc.factor, tc.cast, tc.comp)
		}
		if typeFactor(tc.s, tc.d) != f {
			t.Errorf("%s -> %s: typeFactor differs from typeFit", tc.s, tc.d)
		}
	}
}
