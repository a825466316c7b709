// Package netguard decides which network addresses the product may dial. It is the one place for
// that rule: connectors get a guarded dialer and a guarded HTTP client through connector.Env and
// never dial on their own.
//
// The decision is made on the IP address actually dialed, after name resolution, so a host name
// that resolves to a refused address (including by DNS rebinding) is refused too. Link-local and
// cloud-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, their IPv4-mapped and other
// IPv4-embedding IPv6 forms) and the unspecified addresses are refused for every policy, whatever
// the allow list says. The Database policy allows everything else (databases live on loopback and
// private networks); the HTTP policy allows public unicast addresses only, plus the hosts, IPs and
// CIDRs listed in ALLOWED_OUTBOUND_HOSTS.
package netguard
