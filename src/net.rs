//! Outgoing HTTP: one way to build a client (rustls on ring with the
//! webpki roots, no redirects followed, timeouts), and the guard that keeps
//! requests made for users (webhooks) off loopback, link-local and private
//! networks: every address a name resolves to is checked when the request
//! connects, so a name that later resolves elsewhere is caught too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How a client treats private targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// Only public addresses (webhooks, unless configured otherwise).
    PublicOnly,
    /// Anything (a server the operator configured, such as a local model).
    Any,
}

/// Builds a client: `timeout` for the whole exchange (`None`: only for
/// connecting, for long streams), redirects never followed.
pub fn client(targets: Targets, timeout: Option<Duration>) -> Result<reqwest::Client, String> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Helpline/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    if targets == Targets::PublicOnly {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder
        .build()
        .map_err(|e| format!("could not build the HTTP client: {e}"))
}

/// Why a target was refused, in words for the person who set it.
pub fn refused(host: &str, ip: IpAddr) -> String {
    format!(
        "`{host}` is {ip}, a loopback, link-local or private address; \
         set `webhooks.allow_private` to allow such targets"
    )
}

/// Checks a URL's target before a request: the scheme, and for a host that
/// is an address literal (which the resolver never sees) the address.
/// Names are checked by resolving them (`resolve_public`).
pub fn check_url(url: &reqwest::Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let Some(host) = url.host_str() else {
        return Err("must name a host".into());
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) if !is_public(ip) => Err(refused(host, ip)),
        _ => Ok(()),
    }
}

/// Resolves `host` and refuses it when any of its addresses is not public.
pub async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("`{host}` could not be resolved: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("`{host}` has no address"));
    }
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(refused(host, bad.ip()));
    }
    Ok(addrs)
}

/// The resolver of `Targets::PublicOnly` clients.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve_public(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is an ordinary public address: not loopback, unspecified,
/// private, shared (CGNAT), link-local, multicast, broadcast, documentation
/// or benchmarking space, nor an IPv6 form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    let v4_at = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // IPv4 inside IPv6: IPv4-compatible (::/96), ::ffff:0:0:0/96 and NAT64
    // (64:ff9b::/96) in the last 32 bits; 6to4 (2002::/16) in bits 16-48.
    if seg[..6] == [0; 6]
        || seg[..6] == [0, 0, 0, 0, 0xffff, 0]
        || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(v4_at(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        return is_public_v4(v4_at(seg[1], seg[2]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, link-local, the old site-local.
        || (seg[0] & 0xfe00) == 0xfc00
        || (seg[0] & 0xffc0) == 0xfe80
        || (seg[0] & 0xffc0) == 0xfec0
        // Local-use NAT64 (64:ff9b:1::/48), IETF protocol space with Teredo
        // (2001::/23), documentation (2001:db8::/32).
        || (seg[0] == 0x64 && seg[1] == 0xff9b)
        || (seg[0] == 0x2001 && seg[1] < 0x0200)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "::a9fe:a9fe",
            "::ffff:0:a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "fec0::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "2a00:1450:4001::200e",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }

    #[test]
    fn address_literals_are_checked_before_any_request() {
        let check = |u: &str| check_url(&reqwest::Url::parse(u).unwrap());
        assert!(check("http://127.0.0.1:9/x").is_err());
        assert!(check("http://[::1]/").is_err());
        assert!(check("http://169.254.169.254/latest").is_err());
        assert!(check("ftp://example.com/").is_err());
        assert!(check("https://hooks.slack.com/services/x").is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let err = resolve_public("localhost", 80).await.unwrap_err();
        assert!(err.contains("allow_private"), "{err}");
    }
}
