package mapping

import (
	"fmt"
	"math"
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
	// Rate every pair without allocating and keep the passing ones compactly (8 bytes each), in
	// buckets by confidence (two decimals: 101 buckets). Pairs are rated destination by destination,
	// so within a bucket they stay in (destination, source) schema order: the tie-break that makes the
	// result deterministic. Reasons are built only for the pairs chosen.
	type cand struct{ s, d int32 }
	var buckets [101][]cand
	for j, df := range destination {
		for i, sf := range source {
			r := rate(sf, df, &srcNames[i], &dstNames[j])
			if r.ok && r.conf >= minConf {
				k := int(math.Round(r.conf * 100))
				buckets[k] = append(buckets[k], cand{int32(i), int32(j)})
			}
		}
	}
	usedS := make([]bool, len(source))
	usedD := make([]bool, len(destination))
	res := Result{Suggestions: []Suggestion{}, UnmatchedSource: []string{}, UnmatchedDestination: []string{}}
	for k := len(buckets) - 1; k >= 0; k-- {
		for _, c := range buckets[k] {
			if usedS[c.s] || usedD[c.d] {
				continue
			}
			usedS[c.s], usedD[c.d] = true, true
			res.Suggestions = append(res.Suggestions, suggestion(source[c.s], destination[c.d], &srcNames[c.s], &dstNames[c.d]))
		}
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
	joined   []rune   // the expanded words run together, for Jaro-Winkler
}

func analyse(name string) nameInfo {
	w := words(name)
	e := expand(w)
	return nameInfo{raw: name, words: w, expanded: e, joined: []rune(strings.Join(e, ""))}
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

// rating is how well one pair fits.
type rating struct {
	ok    bool // the names have something in common
	conf  float64
	match Match
	sim   float64
	how   string
}

// rate scores one pair without allocating.
func rate(sf, df record.Field, s, d *nameInfo) rating {
	var r rating
	var name float64
	switch {
	case sf.Name == df.Name:
		name, r.match = scoreExact, Exact
	case strings.EqualFold(sf.Name, df.Name):
		name, r.match = scoreCase, CaseInsensitive
	case len(s.words) > 0 && equalWords(s.words, d.words):
		name, r.match = scoreNormalized, Normalized
	case len(s.expanded) > 0 && equalWords(s.expanded, d.expanded):
		name, r.match = scoreAbbreviation, Abbreviation
	default:
		r.sim, r.how = similarity(s, d)
		if r.sim < minSimilarity {
			return r
		}
		name, r.match = round2(scoreSimilarMax*r.sim), Similar
	}
	r.ok = true
	r.conf = round2(name * typeFactor(sf.Kind, df.Kind))
	return r
}

// suggestion describes a chosen pair, with its reasons.
func suggestion(sf, df record.Field, s, d *nameInfo) Suggestion {
	r := rate(sf, df, s, d)
	var why string
	switch r.match {
	case Exact:
		why = "same name"
	case CaseInsensitive:
		why = "same name ignoring case"
	case Normalized:
		why = fmt.Sprintf("same words (%s) ignoring separators and case", strings.Join(s.words, " "))
	case Abbreviation:
		why = fmt.Sprintf("same words once abbreviations are expanded (%s)", strings.Join(d.expanded, " "))
	default:
		why = fmt.Sprintf("similar names (%s %.0f%%)", r.how, r.sim*100)
	}
	_, cast, compatible, typeWhy := typeFit(sf.Kind, df.Kind)
	return Suggestion{Source: sf.Name, Destination: df.Name, SourceType: sf.Kind, DestinationType: df.Kind,
		Confidence: r.conf, Match: r.match, Cast: cast, TypeCompatible: compatible, Reason: why + "; " + typeWhy}
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
func similarity(s, d *nameInfo) (float64, string) {
	jw := jaroWinklerRunes(s.joined, d.joined)
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
	// Names have a handful of words: compare pairwise, each word of a used at most once.
	var usedBuf [16]bool
	var used []bool
	if len(a) <= len(usedBuf) {
		used = usedBuf[:len(a)]
	} else {
		used = make([]bool, len(a))
	}
	common := 0
	for _, w := range b {
		for i, v := range a {
			if !used[i] && v == w {
				used[i] = true
				common++
				break
			}
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

// jaroWinkler returns the Jaro-Winkler similarity of a and b in 0..1.
func jaroWinkler(a, b string) float64 { return jaroWinklerRunes([]rune(a), []rune(b)) }

func jaroWinklerRunes(ra, rb []rune) float64 {
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
	var bufA, bufB [64]bool
	var ma, mb []bool
	if la <= len(bufA) {
		ma = bufA[:la]
	} else {
		ma = make([]bool, la)
	}
	if lb <= len(bufB) {
		mb = bufB[:lb]
	} else {
		mb = make([]bool, lb)
	}
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

// Type fits, from best to worst.
const (
	fitSame = iota
	fitWiden
	fitText
	fitParse
	fitLossy
	fitNone
)

// typeClass says how a value of kind s goes into a field of kind d.
func typeClass(s, d record.Kind) int {
	const (
		b  = record.KindBool
		i  = record.KindInt
		f  = record.KindFloat
		dc = record.KindDecimal
		st = record.KindString
		by = record.KindBytes
		da = record.KindDate
		ts = record.KindTimestamp
		js = record.KindJSON
	)
	type pair struct{ s, d record.Kind }
	switch p := (pair{s, d}); {
	case s == d || s == record.KindNull || d == record.KindNull:
		return fitSame
	case p == pair{i, f} || p == pair{i, dc} || p == pair{da, ts} || p == pair{b, i}:
		return fitWiden
	case d == st || d == js:
		return fitText
	case s == st || p == pair{by, st}:
		return fitParse
	case p == pair{f, i} || p == pair{dc, i} || p == pair{f, dc} || p == pair{dc, f} || p == pair{ts, da} ||
		p == pair{i, b} || p == pair{i, ts} || (s == js && (d == i || d == f || d == dc || d == b)):
		return fitLossy
	}
	return fitNone
}

// typeFactor is the confidence factor of a type fit: 1 for the same type (or an unknown one), 0.95
// for a lossless widening, 0.8 for a conversion that can fail or lose detail, 0.3 when no
// conversion exists.
func typeFactor(s, d record.Kind) float64 {
	switch typeClass(s, d) {
	case fitSame:
		return 1
	case fitWiden, fitText:
		return 0.95
	case fitParse, fitLossy:
		return 0.8
	}
	return 0.3
}

// typeFit rates moving a value of kind s into a field of kind d, with the reason.
func typeFit(s, d record.Kind) (factor float64, cast, compatible bool, why string) {
	c := typeClass(s, d)
	factor, cast, compatible = typeFactor(s, d), c != fitSame, c != fitNone
	switch c {
	case fitSame:
		why = "same type"
	case fitWiden:
		why = fmt.Sprintf("%s widens to %s", s, d)
	case fitText:
		why = fmt.Sprintf("%s is written as %s", s, d)
	case fitParse:
		why = fmt.Sprintf("%s must parse as %s (rows that do not are rejected)", s, d)
	case fitLossy:
		why = fmt.Sprintf("%s converts to %s when no detail is lost (rows that lose some are rejected)", s, d)
	default:
		why = fmt.Sprintf("%s does not convert to %s", s, d)
	}
	return factor, cast, compatible, why
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
