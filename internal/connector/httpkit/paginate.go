package httpkit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/url"
	"strconv"
	"strings"
)

// ErrPaginationLoop says that pagination came back to a page it had read.
var ErrPaginationLoop = errors.New("pagination loop")

// Pager walks the pages of one read. It refuses a loop: a next URL or cursor it has seen, or a
// page whose body repeats the previous one.
type Pager struct {
	p        Pagination
	redact   func(string) string
	seen     map[uint64]bool
	lastBody uint64
	pages    int
	seed     maphash.Seed
}

// NewPager starts the pages of p (nil: no pagination); redact hides secrets of URLs in messages.
func NewPager(p *Pagination, redact func(string) string) *Pager {
	g := &Pager{p: Pagination{Type: PageNone}, redact: redact, seen: map[uint64]bool{}, seed: maphash.MakeSeed()}
	if p != nil {
		g.p = *p
	}
	if redact == nil {
		g.redact = func(s string) string { return s }
	}
	return g
}

// First returns the URL of the first page: u with the page or offset parameters set.
func (g *Pager) First(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := pu.Query()
	switch g.p.Type {
	case PageNumber:
		q.Set(g.p.Param, strconv.Itoa(g.p.Start))
	case PageOffset:
		q.Set(g.p.Param, "0")
		q.Set(g.p.LimitParam, strconv.Itoa(g.p.Limit))
	default:
		return u, nil
	}
	pu.RawQuery = q.Encode()
	return pu.String(), nil
}

// Next returns the URL of the page after cur, whose response was resp with n records; "" when cur
// was the last page. It fails with ErrPaginationLoop when the pages go round in a circle.
func (g *Pager) Next(cur string, resp *Response, n int) (string, error) {
	g.pages++
	g.seen[maphash.String(g.seed, cur)] = true
	h := maphash.Bytes(g.seed, resp.Body)
	if g.pages > 1 && h == g.lastBody && n > 0 {
		return "", fmt.Errorf("%w: the page %s has the same body as the page before it; the server ignores the pagination parameters (check pagination.param)", ErrPaginationLoop, g.redact(cur))
	}
	g.lastBody = h
	if g.p.MaxPages > 0 && g.pages >= g.p.MaxPages {
		return "", nil
	}
	cu, err := url.Parse(cur)
	if err != nil {
		return "", err
	}
	var next string
	switch g.p.Type {
	case PageNumber:
		if n == 0 {
			return "", nil
		}
		page, err := strconv.Atoi(cu.Query().Get(g.p.Param))
		if err != nil {
			page = g.p.Start
		}
		next = withParam(cu, g.p.Param, strconv.Itoa(page+1))
	case PageOffset:
		if n < g.p.Limit {
			return "", nil
		}
		off, _ := strconv.Atoi(cu.Query().Get(g.p.Param))
		next = withParam(cu, g.p.Param, strconv.Itoa(off+n))
	case PageCursor:
		c, ok := Scalar(resp.Body, g.p.Path)
		if !ok {
			return "", nil
		}
		if cu.Query().Get(g.p.Param) == c {
			return "", fmt.Errorf("%w: the cursor %q at %s repeats the one of the page it came from", ErrPaginationLoop, g.redact(c), g.p.Path)
		}
		next = withParam(cu, g.p.Param, c)
	case PageNext:
		s, ok := Scalar(resp.Body, g.p.Path)
		if !ok {
			return "", nil
		}
		if next, err = resolve(resp, cu, s); err != nil {
			return "", fmt.Errorf("pagination.path %q: the next URL %q: %v", g.p.Path, g.redact(s), err)
		}
	case PageLink:
		l := nextLink(resp.Header.Values("Link"))
		if l == "" {
			return "", nil
		}
		if next, err = resolve(resp, cu, l); err != nil {
			return "", fmt.Errorf("the Link header's next URL %q: %v", g.redact(l), err)
		}
	default:
		return "", nil
	}
	if g.seen[maphash.String(g.seed, next)] {
		return "", fmt.Errorf("%w: the next page %s was already read", ErrPaginationLoop, g.redact(next))
	}
	return next, nil
}

// Pages is how many pages Next has seen.
func (g *Pager) Pages() int { return g.pages }

func withParam(u *url.URL, k, v string) string {
	c := *u
	q := c.Query()
	q.Set(k, v)
	c.RawQuery = q.Encode()
	return c.String()
}

func resolve(resp *Response, cur *url.URL, ref string) (string, error) {
	base := cur
	if resp.URL != nil {
		base = resp.URL
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("only http and https URLs are followed")
	}
	return u.String(), nil
}

// nextLink finds rel="next" in RFC 8288 Link headers.
func nextLink(headers []string) string {
	for _, h := range headers {
		for link := range strings.SplitSeq(h, ",") {
			parts := strings.Split(link, ";")
			target := strings.TrimSpace(parts[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range parts[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") {
					for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
						if strings.EqualFold(rel, "next") {
							return target[1 : len(target)-1]
						}
					}
				}
			}
		}
	}
	return ""
}
