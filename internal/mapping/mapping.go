package mapping

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/dataaggregator/aggregator/internal/record"
)

// Match names how two field names were found to correspond.
type Match string

// Kinds of name match, strongest first.
const (
	Exact           Match = "exact"
	CaseInsensitive Match = "case_insensitive"
	Normalized      Match = "normalized"   // same words once separators and camel case are ignored
	Abbreviation    Match = "abbreviation" // same words once common abbreviations are expanded
	Similar         Match = "similar"      // string or word similarity
)

// Name scores before the type factor is applied.
const (
	scoreExact        = 1.0
	scoreCase         = 0.97
	scoreNormalized   = 0.94
	scoreAbbreviation = 0.88
	scoreSimilarMax   = 0.85
	// minSimilarity is the least similarity (0..1) counted as a similar name.
	minSimilarity = 0.72
)

// DefaultMinConfidence is the confidence below which a pair is not suggested.
const DefaultMinConfidence = 0.5

// Options tunes Suggest.
type Options struct {
	// MinConfidence drops pairs below it (0: DefaultMinConfidence).
	MinConfidence float64
}

// Suggestion is one proposed pair.
type Suggestion struct {
	Source          string      `json:"source"`
	Destination     string      `json:"destination"`
	SourceType      record.Kind `json:"source_type"`
	DestinationType record.Kind `json:"destination_type"`
	Confidence      float64     `json:"confidence"`
	Match           Match       `json:"match"`
	// Cast is true when the value must be converted to the destination type.
	Cast bool `json:"cast"`
	// TypeCompatible is false when no conversion between the types exists.
	TypeCompatible bool   `json:"type_compatible"`
	Reason         string `json:"reason"`
}

// Result is every suggestion, best first, and the fields left without a partner (in schema order).
type Result struct {
	Suggestions          []Suggestion `json:"suggestions"`
	UnmatchedSource      []string     `json:"unmatched_source"`
	UnmatchedDestination []string     `json:"unmatched_destination"`
}

// Suggest proposes a mapping from source fields to destination fields.
func Suggest(source, destination []record.Field, opts Options) Result {
	minConf := opts.MinConfidence
	if minConf <= 0 {
		minConf = DefaultMinConfidence
	}
	srcNames := make([]nameInfo, len(source))
	for i, f := range source {
		srcNames[i] = analyse(f.Name)
	}
	dstNames := make([]nameInfo, len(destination))
	for i, f := range destination {
		dstNames[i] = analyse(f.Name)
	}
	type cand struct {
		s, d int
		sug  Suggestion
	}
	var cands []cand
	for i, sf := range source {
		for j, df := range destination {
			sug, ok := score(sf, df, srcNames[i], dstNames[j])
			if ok && sug.Confidence >= minConf {
				cands = append(cands, cand{i, j, sug})
			}
		}
	}
	// Strongest first; ties go to the pair earliest in the schemas, so the result is deterministic.
	sort.SliceStable(cands, func(a, b int) bool {
		ca, cb := cands[a], cands[b]
		if ca.sug.Confidence != cb.sug.Confidence {
			return ca.sug.Confidence > cb.sug.Confidence
		}
		if ca.d != cb.d {
			return ca.d < cb.d
		}
		return ca.s < cb.s
	})
	usedS := make([]bool, len(source))
	usedD := make([]bool, len(destination))
	res := Result{Suggestions: []Suggestion{}, UnmatchedSource: []string{}, UnmatchedDestination: []string{}}
	for _, c := range cands {
		if usedS[c.s] || usedD[c.d] {
			continue
		}
		usedS[c.s], usedD[c.d] = true, true
		res.Suggestions = append(res.Suggestions, c.sug)
	}
	for i, f := range source {
		if !usedS[i] {
			res.UnmatchedSource = append(res.UnmatchedSource, f.Name)
		}
	}
	for j, f := range destination {
		if !usedD[j] {
			res.UnmatchedDestination = append(res.UnmatchedDestination, f.Name)
		}
	}
	return res
}

// nameInfo is a field name broken into words.
type nameInfo struct {
	raw      string
	words    []string // lower-case words: customerID -> customer, id
	expanded []string // words with abbreviations expanded: qty -> quantity, dob -> date, of, birth
}

func analyse(name string) nameInfo {
	w := words(name)
	return nameInfo{raw: name, words: w, expanded: expand(w)}
}

// words splits a name at separators, case changes (customerId, HTTPServer) and letter/digit
// boundaries, in lower case.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if len(cur) > 0 {
			prev := rs[i-1]
			switch {
			case unicode.IsLower(prev) && unicode.IsUpper(r):
				flush()
			case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
				flush() // HTTPServer: the S starts a word
			case unicode.IsDigit(prev) != unicode.IsDigit(r):
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// abbreviations maps a common abbreviation to the words it stands for.
var abbreviations = map[string][]string{
	"qty": {"quantity"}, "qnty": {"quantity"},
	"amt": {"amount"},
	"no":  {"number"}, "num": {"number"}, "nbr": {"number"}, "nr": {"number"},
	"dob": {"date", "of", "birth"}, "bday": {"birth", "date"},
	"id": {"identifier"}, "ident": {"identifier"},
	"cust": {"customer"}, "cli": {"client"},
	"addr": {"address"}, "adr": {"address"},
	"desc": {"description"}, "descr": {"description"},
	"tel": {"telephone"}, "phone": {"telephone"}, "ph": {"telephone"},
	"fname": {"first", "name"}, "firstname": {"first", "name"},
	"lname": {"last", "name"}, "lastname": {"last", "name"}, "surname": {"last", "name"},
	"dt": {"date"}, "ts": {"timestamp"}, "tstamp": {"timestamp"},
	"txn": {"transaction"}, "trx": {"transaction"}, "tx": {"transaction"},
	"acct": {"account"}, "acc": {"account"},
	"org": {"organization"}, "organisation": {"organization"},
	"dept": {"department"}, "emp": {"employee"},
	"prod": {"product"}, "cat": {"category"}, "ref": {"reference"},
	"cnt": {"count"}, "avg": {"average"}, "pct": {"percent"},
	"zip": {"postal", "code"}, "zipcode": {"postal", "code"}, "postcode": {"postal", "code"},
	"mail": {"email"},
	"msg":  {"message"}, "val": {"value"}, "qtr": {"quarter"}, "yr": {"year"}, "mo": {"month"},
	"upd": {"updated"}, "mod": {"modified"},
	"src": {"source"}, "dst": {"destination"}, "dest": {"destination"},
	"curr": {"currency"}, "ccy": {"currency"}, "cur": {"currency"},
	"st": {"street"}, "str": {"street"}, "ctry": {"country"}, "cntry": {"country"},
	"pwd": {"password"}, "usr": {"user"}, "img": {"image"},
}

func expand(ws []string) []string {
	var out []string
	for _, w := range ws {
		if e, ok := abbreviations[w]; ok {
			out = append(out, e...)
			continue
		}
		out = append(out, w)
	}
	return out
}

// score rates one pair; ok is false when the names have nothing in common.
func score(sf, df record.Field, s, d nameInfo) (Suggestion, bool) {
	sug := Suggestion{Source: sf.Name, Destination: df.Name, SourceType: sf.Kind, DestinationType: df.Kind}
	var name float64
	var why string
	switch {
	case sf.Name == df.Name:
		name, sug.Match, why = scoreExact, Exact, "same name"
	case strings.EqualFold(sf.Name, df.Name):
		name, sug.Match, why = scoreCase, CaseInsensitive, "same name ignoring case"
	case len(s.words) > 0 && equalWords(s.words, d.words):
		name, sug.Match, why = scoreNormalized, Normalized, fmt.Sprintf("same words (%s) ignoring separators and case", strings.Join(s.words, " "))
	case len(s.expanded) > 0 && equalWords(s.expanded, d.expanded):
		name, sug.Match, why = scoreAbbreviation, Abbreviation, fmt.Sprintf("same words once abbreviations are expanded (%s)", strings.Join(d.expanded, " "))
	default:
		sim, how := similarity(s, d)
		if sim < minSimilarity {
			return sug, false
		}
		name, sug.Match = round2(scoreSimilarMax*sim), Similar
		why = fmt.Sprintf("similar names (%s %.0f%%)", how, sim*100)
	}
	factor, cast, compatible, typeWhy := typeFit(sf.Kind, df.Kind)
	sug.Cast, sug.TypeCompatible = cast, compatible
	sug.Confidence = round2(name * factor)
	sug.Reason = why + "; " + typeWhy
	return sug, true
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// similarity is the larger of the Jaro-Winkler similarity of the joined expanded words and the
// Dice overlap of the expanded word sets.
func similarity(s, d nameInfo) (float64, string) {
	jw := jaroWinkler(strings.Join(s.expanded, ""), strings.Join(d.expanded, ""))
	dice := diceWords(s.expanded, d.expanded)
	if dice > jw {
		return dice, "shared words"
	}
	return jw, "spelling"
}

func diceWords(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	set := map[string]int{}
	for _, w := range a {
		set[w]++
	}
	common := 0
	for _, w := range b {
		if set[w] > 0 {
			set[w]--
			common++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

// jaroWinkler returns the Jaro-Winkler similarity of a and b in 0..1.
func jaroWinkler(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	if la == 0 && lb == 0 {
		return 1
	}
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	ma := make([]bool, la)
	mb := make([]bool, lb)
	matches := 0
	for i := range ra {
		lo, hi := max(0, i-window), min(lb-1, i+window)
		for j := lo; j <= hi; j++ {
			if !mb[j] && ra[i] == rb[j] {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transpositions, k := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if ra[i] != rb[k] {
			transpositions++
		}
		k++
	}
	m := float64(matches)
	jaro := (m/float64(la) + m/float64(lb) + (m-float64(transpositions)/2)/m) / 3
	prefix := 0
	for i := 0; i < min(4, la, lb) && ra[i] == rb[i]; i++ {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// typeFit rates moving a value of kind s into a field of kind d: factor 1 for the same type (or an
// unknown one), 0.95 for a lossless widening, 0.8 for a conversion that can fail or lose detail,
// 0.3 when no conversion exists.
func typeFit(s, d record.Kind) (factor float64, cast, compatible bool, why string) {
	if s == d || s == record.KindNull || d == record.KindNull {
		return 1, false, true, "same type"
	}
	pair := s.String() + "->" + d.String()
	switch pair {
	case "int->float", "int->decimal", "date->timestamp", "bool->int":
		return 0.95, true, true, fmt.Sprintf("%s widens to %s", s, d)
	}
	if d == record.KindString || d == record.KindJSON {
		return 0.95, true, true, fmt.Sprintf("%s is written as %s", s, d)
	}
	switch pair {
	case "string->int", "string->float", "string->decimal", "string->bool", "string->date",
		"string->timestamp", "string->json", "string->bytes", "bytes->string":
		return 0.8, true, true, fmt.Sprintf("%s must parse as %s (rows that do not are rejected)", s, d)
	case "float->int", "decimal->int", "float->decimal", "decimal->float", "timestamp->date", "int->bool", "int->timestamp", "json->int", "json->float", "json->decimal", "json->bool":
		return 0.8, true, true, fmt.Sprintf("%s converts to %s when no detail is lost (rows that lose some are rejected)", s, d)
	}
	return 0.3, true, false, fmt.Sprintf("%s does not convert to %s", s, d)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
