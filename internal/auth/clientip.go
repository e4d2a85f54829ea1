package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies (TLS terminators, load balancers) trusted
// to say who the client is in X-Forwarded-For. Without them the peer
// address is the client: trusting the header from anyone would let a
// visitor choose the address the login limiter counts.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses and CIDR ranges.
func ParseProxies(spec string) (Proxies, error) {
	var out Proxies
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			addr, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR range", part)
			}
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR range", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIPBehindForwarder is ClientIP for a request whose peer, once the
// trusted proxies are passed, is a forwarder the request's own signature
// vouches for (Shopify's App Proxy): the hop it appended to
// X-Forwarded-For is the client. Without one, the peer.
func (ps Proxies) ClientIPBehindForwarder(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	if peer, err := netip.ParseAddr(host); err == nil && ps.trusted(peer) {
		// Past the operator's own proxies first: the forwarder is the
		// nearest hop that is not one of them.
		for len(hops) > 0 {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1]))
			if err != nil || !ps.trusted(hop) {
				break
			}
			hops = hops[:len(hops)-1]
		}
		if len(hops) > 0 {
			hops = hops[:len(hops)-1] // the forwarder itself
		}
	}
	if len(hops) > 0 {
		if hop, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
			return hop.Unmap().String()
		}
	}
	return host
}

// ClientIP is the address of the client: the peer, or — when the peer is a
// trusted proxy — the nearest X-Forwarded-For hop that is not one.
func (ps Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !ps.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !ps.trusted(hop) {
			return hop.Unmap().String()
		}
	}
	return host
}
