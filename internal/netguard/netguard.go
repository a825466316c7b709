package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Policy says which addresses a kind of connector may dial.
type Policy int

const (
	// Database allows loopback, private and public addresses (databases and brokers live on
	// loopback and private networks) and Unix sockets; it refuses only what every policy refuses.
	Database Policy = iota + 1
	// HTTP allows public unicast addresses, and loopback, private or other non-public addresses only
	// when ALLOWED_OUTBOUND_HOSTS lists the host name, the IP or a CIDR containing it.
	HTTP
)

func (p Policy) String() string {
	switch p {
	case Database:
		return "database"
	case HTTP:
		return "http"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ErrRefused is matched (errors.Is) by every RefusedError.
var ErrRefused = errors.New("outbound address refused")

// RefusedError says that the guard refused to dial an address and why.
type RefusedError struct {
	// Addr is what was dialed: "169.254.169.254:5432", or "name:port" when a host name resolved to
	// the refused IP.
	Addr string
	// IP is the refused address when Addr names a host (empty otherwise).
	IP string
	// Reason names the class of the address: "link-local / cloud metadata address".
	Reason string
	// Always is true for addresses no connector may dial whatever the configuration.
	Always bool
}

func (e *RefusedError) Error() string {
	what := e.Reason
	if e.IP != "" {
		what = e.IP + ", " + e.Reason
	}
	if e.Always {
		return fmt.Sprintf("refused to connect to %s (%s): not allowed for any connector", e.Addr, what)
	}
	return fmt.Sprintf("refused to connect to %s (%s): not allowed unless ALLOWED_OUTBOUND_HOSTS lists it", e.Addr, what)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Refusal returns the RefusedError in err's chain, or nil.
func Refusal(err error) *RefusedError {
	var r *RefusedError
	if errors.As(err, &r) {
		return r
	}
	return nil
}

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Options configure a Guard.
type Options struct {
	// Allowed are the ALLOWED_OUTBOUND_HOSTS entries: host names (matched exactly, case-insensitive),
	// IP addresses or CIDRs. They widen the HTTP policy; they never allow an always-refused address.
	Allowed []string
	// Lookup resolves host names; nil means the system resolver. Tests use it to make a name resolve
	// to an address of their choice.
	Lookup LookupFunc
	// DialTimeout bounds one connection attempt (default 10s); the caller's context bounds it too.
	DialTimeout time.Duration
	// AllowPrivate widens the HTTP policy to loopback, private and shared (100.64/10) addresses,
	// as the command line does for the machine's own user (unless --deny-private-networks); the
	// always-refused addresses stay refused. The server never sets it.
	AllowPrivate bool
}

// Guard decides which addresses may be dialed and dials them. It is safe for concurrent use.
type Guard struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
	lookup   LookupFunc
	timeout  time.Duration
	private  bool
}

// New builds a Guard; an Allowed entry that is neither a host name, an IP nor a CIDR is an error
// naming it.
func New(o Options) (*Guard, error) {
	g := &Guard{hosts: map[string]bool{}, lookup: o.Lookup, timeout: o.DialTimeout, private: o.AllowPrivate}
	if g.lookup == nil {
		g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if g.timeout <= 0 {
		g.timeout = 10 * time.Second
	}
	var bad []string
	for i, entry := range o.Allowed {
		host, prefix, err := ParseEntry(entry)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("entry %d %q: %v", i+1, entry, err))
		case host != "":
			g.hosts[host] = true
		case prefix.IsValid():
			g.prefixes = append(g.prefixes, prefix)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("ALLOWED_OUTBOUND_HOSTS: %s", strings.Join(bad, "; "))
	}
	return g, nil
}

// ParseEntry parses one ALLOWED_OUTBOUND_HOSTS entry: a CIDR (10.0.0.0/8), an IP address (one
// address prefix) or a host name (lower-cased, without a trailing dot). An empty entry yields
// neither.
func ParseEntry(entry string) (host string, prefix netip.Prefix, err error) {
	e := strings.TrimSpace(entry)
	switch {
	case e == "":
		return "", netip.Prefix{}, nil
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return "", netip.Prefix{}, errors.New("not a valid CIDR")
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return "", p.Masked(), nil
	}
	if ip, err := netip.ParseAddr(e); err == nil {
		ip = ip.WithZone("").Unmap()
		return "", netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	if strings.ContainsAny(e, ":[]/ @") {
		return "", netip.Prefix{}, errors.New("not a host name, an IP address or a CIDR (no port, no scheme)")
	}
	return strings.ToLower(strings.TrimSuffix(e, ".")), netip.Prefix{}, nil
}

var (
	linkLocal4     = netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6     = netip.MustParsePrefix("fe80::/10")
	thisNetwork    = netip.MustParsePrefix("0.0.0.0/8")
	awsIMDS6       = netip.MustParseAddr("fd00:ec2::254")
	sharedSpace    = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, RFC 6598
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	ipv4Compat     = netip.MustParsePrefix("::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	broadcast4     = netip.MustParseAddr("255.255.255.255")
	reasonMeta     = "link-local / cloud metadata address"
	reasonLoopback = "loopback address"
	reasonPrivate  = "private address"
	reasonUnspec   = "unspecified address"
)

// embedded4 is the IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64 or
// 6to4), so that those forms of a refused IPv4 address are refused too.
func embedded4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4() {
		return ip, false
	}
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), ipv4Compat.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return ip, false
}

// alwaysRefused says why no connector may dial ip, or "" when some may.
func alwaysRefused(ip netip.Addr) string {
	ip = ip.WithZone("")
	if v4, ok := embedded4(ip); ok {
		if r := alwaysRefused(v4); r != "" {
			return r
		}
	}
	switch {
	case ip.IsUnspecified(), ip.Is4() && thisNetwork.Contains(ip):
		return reasonUnspec
	case linkLocal4.Contains(ip), linkLocal6.Contains(ip):
		return reasonMeta
	case ip == awsIMDS6:
		return "cloud metadata address (AWS IMDS over IPv6)"
	}
	return ""
}

// nonPublic says why ip is not a public unicast address, or "".
func nonPublic(ip netip.Addr) string {
	ip = ip.WithZone("")
	if v4, ok := embedded4(ip); ok {
		if r := nonPublic(v4); r != "" {
			return r
		}
	}
	switch {
	case ip.IsLoopback():
		return reasonLoopback
	case ip.IsPrivate(), sharedSpace.Contains(ip):
		return reasonPrivate
	case ip.IsMulticast(), ip == broadcast4, !ip.IsGlobalUnicast():
		return "not a public unicast address"
	}
	return ""
}

// Check says whether policy p may dial ip, reached through host (a host name, or "" for a literal
// IP; an allow-listed name allows its addresses under the HTTP policy). The error is a
// *RefusedError whose Addr is ip (the caller may set it to the dialed address).
func (g *Guard) Check(p Policy, host string, ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	refuse := func(reason string, always bool) error {
		return &RefusedError{Addr: ip.String(), Reason: reason, Always: always}
	}
	if r := alwaysRefused(ip); r != "" {
		return refuse(r, true)
	}
	if p == Database {
		return nil
	}
	r := nonPublic(ip)
	if r == "" || g.allowed(host, ip) || (g.private && (r == reasonLoopback || r == reasonPrivate)) {
		return nil
	}
	if p != HTTP {
		return refuse("unknown policy "+p.String(), true)
	}
	return refuse(r, false)
}

func (g *Guard) allowed(host string, ip netip.Addr) bool {
	if host != "" && g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return true
	}
	for _, pr := range g.prefixes {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// Dialer returns the dialer of policy p.
func (g *Guard) Dialer(p Policy) *Dialer { return &Dialer{g: g, p: p} }

// Dialer dials through the guard under one policy.
type Dialer struct {
	g *Guard
	p Policy
}

// DialContext resolves addr's host through the guard's resolver, refuses the addresses its policy
// does not allow and dials the others in order, each as a literal IP, so the address checked is the
// address connected to. A net.Dialer Control hook checks the connected address again. It returns a
// *RefusedError when every address was refused, a *net.DNSError when the name does not resolve.
// Unix sockets are allowed under the Database policy only.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if strings.HasPrefix(network, "unix") {
		if d.p != Database {
			return nil, &RefusedError{Addr: addr, Reason: "Unix socket", Always: false}
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var ips []netip.Addr
	name := ""
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		name = host
		if ips, err = d.g.lookup(ctx, host); err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	var refused, last error
	for _, ip := range ips {
		if err := d.g.Check(d.p, name, ip); err != nil {
			r := Refusal(err)
			r.Addr = addr
			if name != "" {
				r.IP = ip.WithZone("").Unmap().String()
			}
			if refused == nil {
				refused = r
			}
			continue
		}
		nd := net.Dialer{Timeout: d.g.timeout, Control: d.control(name)}
		conn, err := nd.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	if last != nil {
		return nil, last
	}
	return nil, refused
}

// control re-checks the address the socket connects to.
func (d *Dialer) control(name string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &RefusedError{Addr: address, Reason: "address the guard cannot parse", Always: true}
		}
		if err := d.g.Check(d.p, name, ap.Addr()); err != nil {
			r := Refusal(err)
			r.Addr = address
			return r
		}
		return nil
	}
}
