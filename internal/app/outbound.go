package app

import (
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/netguard"
)

// Outbound fills env's ways out to the network from cfg: the outbound guard's database-policy
// dialer and its HTTP client, both widened by ALLOWED_OUTBOUND_HOSTS (and, for the command line,
// by cfg.OutboundPrivate). config.Validate refuses an
// entry the guard cannot parse; should one get through, the guard is built with no extra entries
// (the strictest) rather than none.
func Outbound(cfg config.Config, env connector.Env) connector.Env {
	g, err := netguard.New(netguard.Options{Allowed: cfg.AllowedOutbound, AllowPrivate: cfg.OutboundPrivate})
	if err != nil {
		g, _ = netguard.New(netguard.Options{})
	}
	env.Dial = g.Dialer(netguard.Database).DialContext
	env.HTTPClient = g.HTTPClient()
	return env
}
