package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func setup(t *testing.T, allowed ...string) *Guard {
	t.Helper()
	g, err := New(Options{Allowed: allowed, Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "metadata.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "mapped.test":
			return []netip.Addr{netip.MustParseAddr("::ffff:169.254.169.254")}, nil
		case "db.test", "allowed.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCheck(t *testing.T) {
	const (
		ok     = ""
		meta   = "link-local / cloud metadata address"
		unspec = "unspecified address"
		loop   = "loopback address"
		priv   = "private address"
	)
	g := setup(t, "10.1.0.0/16", "192.168.7.7", "allowed.test")
	for _, tc := range []struct {
		ip       string
		host     string
		database string // the reason Database refuses it, "" when allowed
		http     string // the reason HTTP refuses it
	}{
		{ip: "169.254.169.254", database: meta, http: meta},
		{ip: "169.254.0.1", database: meta, http: meta},
		{ip: "fe80::1", database: meta, http: meta},
		{ip: "fe80::1%eth0", database: meta, http: meta},
		{ip: "::ffff:169.254.169.254", database: meta, http: meta},
		{ip: "64:ff9b::a9fe:a9fe", database: meta, http: meta}, // NAT64 of 169.254.169.254
		{ip: "2002:a9fe:a9fe::1", database: meta, http: meta},  // 6to4 of 169.254.169.254
		{ip: "fd00:ec2::254", database: "cloud metadata address (AWS IMDS over IPv6)", http: "cloud metadata address (AWS IMDS over IPv6)"},
		{ip: "0.0.0.0", database: unspec, http: unspec},
		{ip: "0.1.2.3", database: unspec, http: unspec},
		{ip: "::", database: unspec, http: unspec},
		{ip: "::ffff:0.0.0.0", database: unspec, http: unspec},
		{ip: "127.0.0.1", database: ok, http: loop},
		{ip: "::1", database: ok, http: loop},
		{ip: "::ffff:127.0.0.1", database: ok, http: loop},
		{ip: "10.0.0.5", database: ok, http: priv},
		{ip: "172.16.3.4", database: ok, http: priv},
		{ip: "192.168.1.1", database: ok, http: priv},
		{ip: "100.64.0.1", database: ok, http: priv},
		{ip: "fd12:3456::1", database: ok, http: priv},
		{ip: "224.0.0.1", database: ok, http: "not a public unicast address"},
		{ip: "8.8.8.8", database: ok, http: ok},
		{ip: "2001:4860:4860::8888", database: ok, http: ok},
		{ip: "::ffff:8.8.8.8", database: ok, http: ok},
		// The allow list widens HTTP only for what it names, never for an always-refused address.
		{ip: "10.1.2.3", database: ok, http: ok},
		{ip: "10.2.0.1", database: ok, http: priv},
		{ip: "192.168.7.7", database: ok, http: ok},
		{ip: "::ffff:192.168.7.7", database: ok, http: ok},
		{ip: "127.0.0.1", host: "allowed.test", database: ok, http: ok},
		{ip: "127.0.0.1", host: "ALLOWED.test.", database: ok, http: ok},
		{ip: "127.0.0.1", host: "other.test", database: ok, http: loop},
		{ip: "169.254.169.254", host: "allowed.test", database: meta, http: meta},
	} {
		for _, p := range []struct {
			policy Policy
			want   string
		}{{Database, tc.database}, {HTTP, tc.http}} {
			err := g.Check(p.policy, tc.host, netip.MustParseAddr(tc.ip))
			switch {
			case p.want == "" && err != nil:
				t.Errorf("%s %s (host %q): refused: %v", p.policy, tc.ip, tc.host, err)
			case p.want != "" && err == nil:
				t.Errorf("%s %s (host %q): allowed, want refused as %s", p.policy, tc.ip, tc.host, p.want)
			case p.want != "":
				r := Refusal(err)
				if r == nil || r.Reason != p.want || !errors.Is(err, ErrRefused) {
					t.Errorf("%s %s: err = %#v, want reason %q", p.policy, tc.ip, err, p.want)
				}
				if wantAlways := p.want != loop && p.want != priv && p.want != "not a public unicast address"; r != nil && r.Always != wantAlways {
					t.Errorf("%s %s: Always = %v, want %v", p.policy, tc.ip, r.Always, wantAlways)
				}
			}
		}
	}
}

func TestParseEntry(t *testing.T) {
	g := setup(t, "Api.Example.com.", "10.0.0.0/8", "::ffff:10.9.0.0/112", "2001:db8::1", "")
	if !g.hosts["api.example.com"] || len(g.hosts) != 1 {
		t.Errorf("hosts = %v", g.hosts)
	}
	want := []string{"10.0.0.0/8", "10.9.0.0/16", "2001:db8::1/128"}
	if len(g.prefixes) != len(want) {
		t.Fatalf("prefixes = %v, want %v", g.prefixes, want)
	}
	for i, p := range g.prefixes {
		if p.String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, p, want[i])
		}
	}
	_, err := New(Options{Allowed: []string{"ok.example", "10.0.0.0/33", "host:80", "https://x"}})
	for _, part := range []string{`entry 2 "10.0.0.0/33": not a valid CIDR`, `entry 3 "host:80": not a host name`, `entry 4 "https://x"`} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("err = %v, want it to contain %s", err, part)
		}
	}
}

func TestDialRefusesWithoutConnecting(t *testing.T) {
	g := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		policy Policy
		addr   string
		want   string
	}{
		{Database, "169.254.169.254:5432", "refused to connect to 169.254.169.254:5432 (link-local / cloud metadata address): not allowed for any connector"},
		{Database, "[::ffff:169.254.169.254]:5432", "refused to connect to [::ffff:169.254.169.254]:5432 (link-local / cloud metadata address): not allowed for any connector"},
		{Database, "[fe80::1%lo]:5432", "refused to connect to [fe80::1%lo]:5432 (link-local / cloud metadata address): not allowed for any connector"},
		{Database, "0.0.0.0:5432", "refused to connect to 0.0.0.0:5432 (unspecified address): not allowed for any connector"},
		// A host name is resolved by the guard and its address checked: DNS cannot smuggle the metadata address in.
		{Database, "metadata.test:80", "refused to connect to metadata.test:80 (169.254.169.254, link-local / cloud metadata address): not allowed for any connector"},
		{Database, "mapped.test:80", "refused to connect to mapped.test:80 (169.254.169.254, link-local / cloud metadata address): not allowed for any connector"},
		{HTTP, "db.test:80", "refused to connect to db.test:80 (127.0.0.1, loopback address): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it"},
		{HTTP, "/run/x.sock", "refused to connect to /run/x.sock (Unix socket)"},
	} {
		network := "tcp"
		if strings.HasPrefix(tc.addr, "/") {
			network = "unix"
		}
		conn, err := g.Dialer(tc.policy).DialContext(ctx, network, tc.addr)
		if err == nil {
			conn.Close()
			t.Errorf("%s %s: connected, want refused", tc.policy, tc.addr)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrRefused) {
			t.Errorf("%s %s:\n got %v\nwant %s", tc.policy, tc.addr, err, tc.want)
		}
	}
	_, err := g.Dialer(Database).DialContext(ctx, "tcp", "nowhere.test:80")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Errorf("unknown name: err = %v, want a *net.DNSError", err)
	}
}

func TestDialConnectsWhenAllowed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx := context.Background()
	for _, tc := range []struct {
		guard  *Guard
		policy Policy
		addr   string
	}{
		{setup(t), Database, "127.0.0.1:" + port},
		{setup(t), Database, "db.test:" + port}, // resolved through the guard's Lookup
		{setup(t, "allowed.test"), HTTP, "allowed.test:" + port},
		{setup(t, "127.0.0.0/8"), HTTP, "127.0.0.1:" + port},
	} {
		conn, err := tc.guard.Dialer(tc.policy).DialContext(ctx, "tcp", tc.addr)
		if err != nil {
			t.Errorf("%s %s: %v", tc.policy, tc.addr, err)
			continue
		}
		conn.Close()
	}
}

func TestControlRechecksTheConnectedAddress(t *testing.T) {
	g := setup(t)
	d := g.Dialer(Database)
	if err := d.control("")("tcp4", "169.254.169.254:80", nil); Refusal(err) == nil {
		t.Errorf("control allowed the metadata address: %v", err)
	}
	if err := d.control("")("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("control refused loopback under the database policy: %v", err)
	}
	if err := g.Dialer(HTTP).control("")("tcp6", "[::1]:80", nil); Refusal(err) == nil {
		t.Errorf("control allowed loopback under the HTTP policy: %v", err)
	}
}
