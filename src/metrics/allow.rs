//! Who may read `/metrics`: a peer address inside a network the operator allows, or anyone
//! holding the operator's token. Pure rules, tested here in full.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network written `address/prefix` (or a bare address: that address alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` lies inside this network. An IPv4 address seen as IPv6 (`::ffff:a.b.c.d`,
    /// as a dual-stack listener reports it) counts as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }

    /// 127.0.0.0/8 and ::1: this machine only, the default.
    pub fn loopback() -> Vec<Network> {
        vec![
            Network {
                addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                prefix: 8,
            },
            Network {
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                prefix: 128,
            },
        ]
    }
}

/// Whether the first `prefix` of `width` bits agree.
fn same_prefix(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let prefix = u32::from(prefix);
    if prefix == 0 {
        return true;
    }
    let shift = width - prefix;
    (a >> shift) == (b >> shift)
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        if s.contains([';', '|']) {
            return Err(format!("`{s}`: separate networks with commas"));
        }
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an address or a network like 10.0.0.0/8"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{s}` has no prefix length from 0 to {width}"))?,
        };
        // An IPv4 network written as IPv6 (::ffff:10.0.0.0/104) is that IPv4 network: peers
        // are compared as IPv4 addresses.
        match addr.to_canonical() {
            IpAddr::V4(v4) if addr.is_ipv6() && prefix >= 96 => Ok(Network {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            }),
            _ => Ok(Network { addr, prefix }),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A list like `127.0.0.1, 10.0.0.0/8` (commas or spaces between); `none` allows no address,
/// so only the token opens the page.
pub fn parse_list(s: &str) -> Result<Vec<Network>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    s.split([',', ' '])
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// What a request to `/metrics` shows about itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Asker<'a> {
    /// The connection's peer, when known.
    pub peer: Option<IpAddr>,
    /// Whether a proxy may have passed it on (it names another origin in `Forwarded` or
    /// `X-Forwarded-For`, or the app is published at an HTTPS address, which it cannot serve
    /// itself): the peer may then be the proxy, not who asked.
    pub proxied: bool,
    /// The token after `Authorization: Bearer`, if any.
    pub bearer: Option<&'a str>,
}

/// Whether `asker` may read the metrics: with the right token from anywhere; without it, only
/// straight from an allowed network (through a proxy, every request would look local). When
/// not, why, for the log.
pub fn may_read(
    asker: &Asker<'_>,
    allowed: &[Network],
    token: Option<&str>,
) -> Result<(), &'static str> {
    match (token, asker.bearer) {
        (Some(token), Some(bearer)) if crate::auth::token::same_secret(token, bearer) => {
            return Ok(());
        }
        (_, Some(_)) => return Err("a wrong token"),
        _ => {}
    }
    let listed = asker
        .peer
        .is_some_and(|ip| allowed.iter().any(|n| n.contains(ip)));
    match (listed, asker.proxied) {
        (true, false) => Ok(()),
        (true, true) => Err("through a proxy (or at an HTTPS address) only the token opens them"),
        (false, _) => Err("not from an allowed address, and no token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Network {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_hold_the_addresses_under_their_prefix_and_no_others() {
        let ten = net("10.0.0.0/8");
        assert!(ten.contains(ip("10.0.0.1")));
        assert!(ten.contains(ip("10.255.255.255")));
        assert!(!ten.contains(ip("11.0.0.0")));
        assert!(!ten.contains(ip("9.255.255.255")));
        let one = net("192.168.1.7");
        assert!(one.contains(ip("192.168.1.7")));
        assert!(!one.contains(ip("192.168.1.8")));
        let host_bits_set = net("172.16.5.9/12");
        assert!(host_bits_set.contains(ip("172.31.0.1")));
        assert!(!host_bits_set.contains(ip("172.32.0.1")));
        let every_v4 = net("0.0.0.0/0");
        assert!(every_v4.contains(ip("8.8.8.8")));
        assert!(!every_v4.contains(ip("2001:db8::1")));
        let v6 = net("fd00::/8");
        assert!(v6.contains(ip("fd12:3456::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn loopback_is_the_default_and_holds_both_families_and_mapped_v4() {
        let lo = Network::loopback();
        for yes in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(lo.iter().any(|n| n.contains(ip(yes))), "{yes}");
        }
        for no in ["10.0.0.1", "::2", "::ffff:10.0.0.1", "128.0.0.1"] {
            assert!(!lo.iter().any(|n| n.contains(ip(no))), "{no}");
        }
    }

    #[test]
    fn lists_parse_with_commas_or_spaces_and_none_means_none() {
        assert_eq!(
            parse_list("127.0.0.1, 10.0.0.0/8 ::1").unwrap(),
            vec![net("127.0.0.1/32"), net("10.0.0.0/8"), net("::1/128")]
        );
        assert!(parse_list("none").unwrap().is_empty());
        assert!(parse_list(" NONE ").unwrap().is_empty());
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn bad_networks_say_what_is_wrong() {
        for bad in [
            "localhost",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0/8",
            "10.0.0.0/8/8",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
            assert!(parse_list(&format!("127.0.0.1, {bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn mapped_networks_are_their_ipv4_networks_and_semicolons_are_named() {
        assert_eq!(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("::ffff:10.1.2.3")));
        let e = parse_list("10.0.0.0/8;192.168.0.0/16").unwrap_err();
        assert!(e.contains("commas"), "{e}");
    }

    #[test]
    fn the_token_opens_from_anywhere_and_the_address_only_without_a_proxy() {
        let lo = Network::loopback();
        let token = Some("a-long-enough-secret-token");
        let from = |peer: &str, proxied: bool, bearer: Option<&'static str>| Asker {
            peer: Some(ip(peer)),
            proxied,
            bearer,
        };
        let ok = |a: &Asker<'_>, allowed: &[Network], token| may_read(a, allowed, token).is_ok();
        // Straight from loopback: yes, with or without the token configured.
        assert!(ok(&from("127.0.0.1", false, None), &lo, token));
        assert!(ok(&from("127.0.0.1", false, None), &lo, None));
        // From elsewhere: only with the right token.
        assert!(!ok(&from("203.0.113.9", false, None), &lo, token));
        assert!(!ok(&from("203.0.113.9", false, Some("wrong")), &lo, token));
        assert!(!ok(
            &from("203.0.113.9", false, Some("a-long-enough-secret-tokeN")),
            &lo,
            token
        ));
        assert!(ok(&from("203.0.113.9", false, token), &lo, token));
        // A wrong token is refused even from an allowed address: it says someone is guessing.
        assert_eq!(
            may_read(&from("127.0.0.1", false, Some("wrong")), &lo, token),
            Err("a wrong token")
        );
        // No token configured: a bearer proves nothing.
        assert!(!ok(&from("203.0.113.9", false, Some("")), &lo, None));
        // Through a proxy on this machine: the address says nothing, the token still works.
        assert!(!ok(&from("127.0.0.1", true, None), &lo, token));
        assert!(ok(&from("127.0.0.1", true, token), &lo, token));
        // No allowed network, or no known peer.
        assert!(!ok(&from("127.0.0.1", false, None), &[], token));
        assert!(!ok(&Asker::default(), &lo, token));
    }
}
