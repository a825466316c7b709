package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// redirector answers /hop/N with a redirect to /hop/N-1 and /hop/0 with "done"; /to?u=URL
// redirects to URL.
func redirector(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to" {
			http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
			return
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n == 0 {
			fmt.Fprint(w, "done")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPClient(t *testing.T) {
	srv := redirector(t) // on 127.0.0.1, allowed only when listed
	for _, tc := range []struct {
		name    string
		allowed []string
		path    string
		want    string // "" for a 200 "done"
	}{
		{name: "loopback not listed", path: "/hop/0",
			want: "(loopback address): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it"},
		{name: "loopback listed", allowed: []string{"127.0.0.1"}, path: "/hop/0"},
		{name: "redirect to the metadata address", allowed: []string{"127.0.0.1"}, path: "/to?u=http://169.254.169.254/latest/meta-data/",
			want: "refused to connect to 169.254.169.254:80 (link-local / cloud metadata address): not allowed for any connector"},
		{name: "redirect to its IPv4-mapped form", allowed: []string{"127.0.0.0/8", "::/0"}, path: "/to?u=http://[::ffff:169.254.169.254]:8080/",
			want: "refused to connect to [::ffff:169.254.169.254]:8080 (link-local / cloud metadata address): not allowed for any connector"},
		// A name is not checked when the redirect is seen but when it is dialed.
		{name: "redirect to a name resolving to the metadata address", allowed: []string{"127.0.0.1", "metadata.test"}, path: "/to?u=http://metadata.test/",
			want: "refused to connect to metadata.test:80 (169.254.169.254, link-local / cloud metadata address): not allowed for any connector"},
		{name: "redirect to a private address not listed", allowed: []string{"127.0.0.1"}, path: "/to?u=http://10.0.0.1/",
			want: "refused to connect to 10.0.0.1:80 (private address)"},
		{name: "five redirects", allowed: []string{"127.0.0.1"}, path: "/hop/5"},
		{name: "six redirects", allowed: []string{"127.0.0.1"}, path: "/hop/6", want: "stopped after 5 redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := setup(t, tc.allowed...).HTTPClient()
			resp, err := c.Get(srv.URL + tc.path)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, want 200", resp.StatusCode)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %s, want an error containing %q", resp.Status, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(tc.want, "refused") && !errors.Is(err, ErrRefused) {
				t.Errorf("err = %v: want ErrRefused in its chain", err)
			}
		})
	}
}

// Other spellings of a refused address (decimal, hex, octal, short forms, IPv6 forms) never reach
// it: Go does not read them as IPs, so they are names, and whatever a resolver makes of them is
// checked when it is dialed.
func TestHTTPClientRefusesOtherSpellings(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	g, err := New(Options{}) // the system resolver, nothing allowed
	if err != nil {
		t.Fatal(err)
	}
	c := g.HTTPClient()
	for _, host := range []string{
		"2130706433",         // decimal 127.0.0.1
		"0x7f000001",         // hex
		"0x7f.0x0.0x0.0x1",   // dotted hex
		"0177.0.0.1",         // octal
		"017700000001",       // octal, one number
		"127.1",              // short form
		"127.0.1",            // short form
		"[::1]",              // IPv6 loopback
		"[::ffff:127.0.0.1]", // IPv4-mapped
		"[::ffff:7f00:1]",    // IPv4-mapped, hex
		"[0:0:0:0:0:ffff:127.0.0.1]",
		"localhost",
		"2852039166", // decimal 169.254.169.254
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+":"+port+"/", nil)
		resp, err := c.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: reached the server (%s)", host, resp.Status)
			continue
		}
		var dnsErr *net.DNSError
		if !errors.Is(err, ErrRefused) && !errors.As(err, &dnsErr) {
			t.Errorf("%s: err = %v, want a refusal or a failed lookup", host, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback server was reached %d times", hits.Load())
	}
}

// AllowPrivate (the command line) reaches loopback and private addresses, never the metadata ones.
func TestAllowPrivate(t *testing.T) {
	g, err := New(Options{AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	for ip, refused := range map[string]bool{"127.0.0.1": false, "10.1.2.3": false, "100.64.0.1": false, "fd00::1": false,
		"169.254.169.254": true, "::ffff:169.254.169.254": true, "0.0.0.0": true, "fd00:ec2::254": true, "224.0.0.1": true} {
		if err := g.Check(HTTP, "", netip.MustParseAddr(ip)); (err != nil) != refused {
			t.Errorf("%s: err = %v, want refused %v", ip, err, refused)
		}
	}
}
