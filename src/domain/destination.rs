//! Where a partner webhook may go (SSRF). A partner chooses the URL; cofund must never be made
//! to reach its own network, the cloud's metadata service or any other special-purpose address.
//! The ranges are the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and
//! successors), all refused, plus multicast and the IPv6 forms that embed an IPv4 address
//! (mapped, compatible, NAT64, 6to4, Teredo), which are refused outright.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ports a partner webhook may use unless the operator allows others.
pub const DEFAULT_PORTS: [u16; 2] = [443, 80];

fn v4_in(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

/// True for every IPv4 address in the IANA special-purpose registry, multicast included.
fn special_v4(ip: Ipv4Addr) -> bool {
    const RANGES: [([u8; 4], u32); 20] = [
        ([0, 0, 0, 0], 8),          // "this network"
        ([10, 0, 0, 0], 8),         // private
        ([100, 64, 0, 0], 10),      // shared address space (carrier-grade NAT)
        ([127, 0, 0, 0], 8),        // loopback
        ([169, 254, 0, 0], 16),     // link-local (cloud metadata services)
        ([172, 16, 0, 0], 12),      // private
        ([192, 0, 0, 0], 24),       // IETF protocol assignments
        ([192, 0, 2, 0], 24),       // documentation
        ([192, 31, 196, 0], 24),    // AS112
        ([192, 52, 193, 0], 24),    // AMT
        ([192, 88, 99, 0], 24),     // 6to4 relay anycast
        ([192, 168, 0, 0], 16),     // private
        ([192, 175, 48, 0], 24),    // direct delegation AS112
        ([198, 18, 0, 0], 15),      // benchmarking
        ([198, 51, 100, 0], 24),    // documentation
        ([203, 0, 113, 0], 24),     // documentation
        ([224, 0, 0, 0], 4),        // multicast
        ([240, 0, 0, 0], 4),        // reserved
        ([255, 255, 255, 255], 32), // limited broadcast
        ([0, 0, 0, 0], 32),         // unspecified
    ];
    RANGES.iter().any(|(net, prefix)| v4_in(ip, *net, *prefix))
}

/// True for every IPv6 address in the IANA special-purpose registry, multicast, the deprecated
/// site-local range, and every form that carries an IPv4 address.
fn special_v6(ip: Ipv6Addr) -> bool {
    if ip.to_ipv4_mapped().is_some() {
        // ::ffff:a.b.c.d reaches a.b.c.d on a dual-stack host; no partner needs this form.
        return true;
    }
    let net = |s: &str| s.parse::<Ipv6Addr>().expect("a literal range");
    let ranges: [(&str, u32); 16] = [
        ("::", 128),         // unspecified
        ("::1", 128),        // loopback
        ("::", 96),          // IPv4-compatible (deprecated): ::a.b.c.d
        ("64:ff9b::", 96),   // NAT64 well-known prefix
        ("64:ff9b:1::", 48), // NAT64 local use
        ("100::", 64),       // discard-only
        ("2001::", 23),      // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
        ("2001:db8::", 32),  // documentation
        ("2002::", 16),      // 6to4
        ("3fff::", 20),      // documentation
        ("5f00::", 16),      // segment routing SIDs
        ("fc00::", 7),       // unique local
        ("fe80::", 10),      // link-local
        ("fec0::", 10),      // site-local (deprecated)
        ("ff00::", 8),       // multicast
        ("::ffff:0:0", 96),  // IPv4-mapped (handled above; kept for completeness)
    ];
    ranges.iter().any(|(n, prefix)| v6_in(ip, net(n), *prefix))
}

/// True for any address a partner webhook must never reach.
pub fn is_special_purpose(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("must be an http(s) URL of at most 2048 characters")]
    NotHttp,
    #[error("must name a host")]
    NoHost,
    #[error("port {0} is not allowed (allowed: {1})")]
    Port(u16, String),
    #[error("{0} is a private or special-purpose address")]
    SpecialAddress(IpAddr),
    #[error("must not carry credentials")]
    Credentials,
}

/// A partner webhook URL checked as far as it can be without resolving it: scheme, no
/// credentials, an allowed port, and no special-purpose literal address. (Every address a
/// host name resolves to is checked again at send time.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub host: String,
    pub port: u16,
    /// The host as an address, when the URL names one.
    pub literal: Option<IpAddr>,
}

impl WebhookTarget {
    /// `ports`: the allowed ports; `None` allows any (and any address: a test or development
    /// setting, `COFUND_ALLOW_PRIVATE_WEBHOOKS`).
    pub fn parse(url: &str, ports: Option<&[u16]>) -> Result<WebhookTarget, DestinationError> {
        if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DestinationError::NotHttp);
        }
        let parsed = reqwest::Url::parse(url).map_err(|_| DestinationError::NotHttp)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DestinationError::NotHttp);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        let port = parsed
            .port_or_known_default()
            .ok_or(DestinationError::NotHttp)?;
        // The URL parser normalises every IPv4 spelling (`0x7f.1`, `2130706433`) to dotted form.
        let host = parsed
            .host_str()
            .ok_or(DestinationError::NoHost)?
            .trim_matches(['[', ']'])
            .to_string();
        let literal = host.parse::<IpAddr>().ok();
        if host.is_empty() {
            return Err(DestinationError::NoHost);
        }
        if let Some(ports) = ports {
            if !ports.contains(&port) {
                let allowed: Vec<String> = ports.iter().map(u16::to_string).collect();
                return Err(DestinationError::Port(port, allowed.join(", ")));
            }
            if let Some(ip) = literal.filter(|ip| is_special_purpose(*ip)) {
                return Err(DestinationError::SpecialAddress(ip));
            }
        }
        Ok(WebhookTarget {
            host,
            port,
            literal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_purpose_range_is_refused() {
        for ip in [
            // Found accepted by the black-box run (issue 19).
            "64:ff9b::a9fe:a9fe",
            "::a9fe:a9fe",
            "fec0::1",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "10.1.2.3",
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "100.64.0.1",
            // And the rest of the registries.
            "0.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "192.0.2.10",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.175.48.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::ffff:8.8.8.8",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:c000:0204::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(
                is_special_purpose(ip.parse().unwrap()),
                "{ip} must be refused"
            );
        }
        for ip in [
            "8.8.8.8",
            "93.184.216.34",
            "151.101.1.69",
            "2606:4700::1111",
            "2a00:1450:4002:402::200e",
            "100.128.0.1",
            "198.20.0.1",
            "192.0.1.1",
        ] {
            assert!(!is_special_purpose(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_port_credentials_and_literal_addresses() {
        let ports = Some(&DEFAULT_PORTS[..]);
        assert!(WebhookTarget::parse("https://partner.example/hooks", ports).is_ok());
        assert!(WebhookTarget::parse("http://partner.example:80/hooks", ports).is_ok());
        assert_eq!(
            WebhookTarget::parse("https://partner.example:8443/h", ports),
            Err(DestinationError::Port(8443, "443, 80".into()))
        );
        assert!(matches!(
            WebhookTarget::parse("http://[::ffff:169.254.169.254]/x", ports),
            Err(DestinationError::SpecialAddress(_))
        ));
        assert!(matches!(
            WebhookTarget::parse("http://169.254.169.254/latest/meta-data", ports),
            Err(DestinationError::SpecialAddress(_))
        ));
        assert_eq!(
            WebhookTarget::parse("https://user:pw@partner.example/", ports),
            Err(DestinationError::Credentials)
        );
        assert_eq!(
            WebhookTarget::parse("ftp://partner.example/", ports),
            Err(DestinationError::NotHttp)
        );
        // Development setting: anything http(s).
        assert!(WebhookTarget::parse("http://127.0.0.1:9999/h", None).is_ok());
    }
}
