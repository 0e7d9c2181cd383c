//! The pieces Zipkin's v1 and v2 JSON share, read the same way for both: endpoints and
//! microsecond times.
//!
//! Following Zipkin's reader: an endpoint's `ipv4` and `ipv6` are parsed as any IP and filed by
//! family (an IPv4-mapped IPv6 address counts as IPv4), unparseable IPs are ignored, port 0 and
//! empty names are absent; times are integers, also accepted as decimal strings or floats (a
//! positive fraction rounds up, so a sub-microsecond duration is 1, never 0).

use std::net::{IpAddr, Ipv6Addr};

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::span::Endpoint;

/// An endpoint as Zipkin JSON writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JsonEndpoint {
    service_name: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    port: Option<i64>,
}

impl JsonEndpoint {
    /// The endpoint, or `None` when nothing usable is in it.
    pub(super) fn into_endpoint(self) -> Option<Endpoint> {
        let mut endpoint = Endpoint {
            service_name: self.service_name.filter(|name| !name.is_empty()),
            port: self.port.and_then(|port| u16::try_from(port).ok()).filter(|port| *port != 0),
            ..Endpoint::default()
        };
        for text in [self.ipv4, self.ipv6].into_iter().flatten() {
            if let Ok(ip) = text.trim().parse::<IpAddr>() {
                file_ip(&mut endpoint, ip);
            }
        }
        (!endpoint.is_empty()).then_some(endpoint)
    }
}

/// Files an address under its family, as Zipkin does; the first of each family wins.
pub(super) fn file_ip(endpoint: &mut Endpoint, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => endpoint.ipv4 = endpoint.ipv4.or(Some(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => endpoint.ipv4 = endpoint.ipv4.or(Some(v4)),
            None if v6 != Ipv6Addr::UNSPECIFIED => endpoint.ipv6 = endpoint.ipv6.or(Some(v6)),
            None => {}
        },
    }
}

/// Epoch or duration microseconds; `None` inside when negative.
#[derive(Debug, Clone, Copy)]
pub(super) struct Micros(Option<u64>);

impl Micros {
    /// Zipkin treats 0 and negative times as absent.
    pub(super) fn positive(self) -> Option<u64> {
        self.0.filter(|v| *v > 0)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MicrosVisitor;
        impl Visitor<'_> for MicrosVisitor {
            type Value = Micros;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("microseconds as an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Micros, E> {
                Ok(Micros(u64::try_from(v).ok()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Micros, E> {
                Ok(Micros(Some(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Micros, E> {
                if !v.is_finite() {
                    return Err(E::custom("microseconds must be finite"));
                }
                // Saturating; a positive fraction rounds up.
                Ok(Micros((v >= 0.0).then_some(v.ceil() as u64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Micros, E> {
                let text = v.trim();
                match text.parse::<u64>() {
                    Ok(micros) => Ok(Micros(Some(micros))),
                    Err(_) if text.parse::<i64>().is_ok() => Ok(Micros(None)),
                    Err(_) => {
                        let shown: String = v.chars().take(64).collect();
                        Err(E::custom(format_args!("{shown:?} is not microseconds")))
                    }
                }
            }
        }
        deserializer.deserialize_any(MicrosVisitor)
    }
}
