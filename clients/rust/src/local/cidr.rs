//! IP allowlists for local decisions: the key's normalised CIDRs (as the stream sends them) and the
//! server's matching rule (`src/domain/cidr.ts`): an IPv4-mapped IPv6 address matches IPv4 networks
//! and an IPv4 address matches IPv6 networks that cover its mapped form, as node's BlockList does.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest client_ip the server accepts (LIMITS.clientIpLength).
pub(crate) const MAX_CLIENT_IP_LENGTH: usize = 45;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network {
    V4(u32, u8),
    V6(u128, u8),
}

fn masked32(v: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        v & (!0u32 << (32 - prefix as u32))
    }
}

fn masked128(v: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        v & (!0u128 << (128 - prefix as u32))
    }
}

impl Network {
    /// `"10.0.0.0/8"`, `"2001:db8::/32"` or a bare address; `None` when malformed.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        match address.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let p = prefix.unwrap_or(32);
                (p <= 32).then(|| Network::V4(masked32(a.into(), p), p))
            }
            IpAddr::V6(a) => {
                let p = prefix.unwrap_or(128);
                (p <= 128).then(|| Network::V6(masked128(a.into(), p), p))
            }
        }
    }

    fn contains_v4(&self, a: Ipv4Addr) -> bool {
        match *self {
            Network::V4(net, p) => masked32(a.into(), p) == net,
            Network::V6(..) => self.contains_v6(a.to_ipv6_mapped()),
        }
    }

    fn contains_v6(&self, a: Ipv6Addr) -> bool {
        match *self {
            Network::V6(net, p) => masked128(a.into(), p) == net,
            Network::V4(..) => a.to_ipv4_mapped().is_some_and(|v4| self.contains_v4(v4)),
        }
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.contains_v4(a),
            IpAddr::V6(a) => self.contains_v6(a),
        }
    }
}

/// The client_ip of a request as the server reads it: `Ok(None)` for "", `Ok(Some(ip))` for one
/// address, `Err(())` for anything the server would refuse with INVALID_ARGUMENT.
pub(crate) fn client_ip(text: &str) -> Result<Option<IpAddr>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_CLIENT_IP_LENGTH {
        return Err(());
    }
    text.parse::<IpAddr>().map(Some).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn matches_ipv4_and_ipv6_networks() {
        let v4 = Network::parse("203.0.113.0/24").unwrap();
        assert!(v4.contains(ip("203.0.113.7")));
        assert!(!v4.contains(ip("203.0.114.7")));
        assert!(v4.contains(ip("::ffff:203.0.113.9")), "IPv4-mapped IPv6");
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("203.0.113.7")));
        let host = Network::parse("198.51.100.5/32").unwrap();
        assert!(host.contains(ip("198.51.100.5")) && !host.contains(ip("198.51.100.6")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("::/0").unwrap().contains(ip("8.8.8.8")));
        assert_eq!(Network::parse("10.0.0.0/33"), None);
        assert_eq!(Network::parse("nonsense/8"), None);
    }

    #[test]
    fn reads_client_ips_as_the_server_does() {
        assert_eq!(client_ip(""), Ok(None));
        assert_eq!(client_ip("10.1.2.3"), Ok(Some(ip("10.1.2.3"))));
        assert_eq!(client_ip("fe80::1%eth0"), Err(()));
        assert_eq!(client_ip("10.1.2.3/8"), Err(()));
        assert_eq!(client_ip(&"1".repeat(46)), Err(()));
    }
}
