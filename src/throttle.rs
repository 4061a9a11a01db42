//! Who is asking, and how often: the client address (the peer, or `X-Forwarded-For` when the
//! peer is a trusted proxy) and the rate limits of the no-login links (answer pages, facility
//! pages), kept per link and per address with `governor`'s keyed GCRA limiters.
//!
//! Login throttling lives with the login (`auth::login`), counted in the database so that it
//! holds across instances; the link limits are per instance, which is enough to stop guessing
//! and scanning loops.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The address of the client behind `peer`. `X-Forwarded-For` is believed only when `peer` is
/// one of the `trusted` proxies (none by default: anyone can write that header); then the
/// client is the right-most address in it that is not itself a trusted proxy.
pub fn client_address(trusted: &[IpAddr], peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// Requests one answer or facility link may receive: a burst of [`PER_LINK_BURST`], then one
/// every [`PER_LINK_PERIOD`]. An invitee opens and answers their link a few times; a mail
/// scanner fetches it once or twice.
pub const PER_LINK_BURST: u32 = 20;
pub const PER_LINK_PERIOD: Duration = Duration::from_secs(3);
/// Requests one client address may make on all links together: a burst of
/// [`PER_ADDRESS_BURST`], then [`PER_ADDRESS_PER_MINUTE`] a minute. Generous, because a city
/// office or a reverse proxy puts many invitees behind one address; guessing tokens (128 bits)
/// from one address is hopeless even at this rate, and it stops scanning loops.
pub const PER_ADDRESS_BURST: u32 = 300;
pub const PER_ADDRESS_PER_MINUTE: u32 = 600;

/// Rate limits of the no-login links, per service instance.
pub struct LinkLimiter {
    per_link: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LinkLimiter {
    fn default() -> LinkLimiter {
        let nz = |n: u32| NonZeroU32::new(n).expect("non-zero");
        let per_link = Quota::with_period(PER_LINK_PERIOD)
            .expect("non-zero period")
            .allow_burst(nz(PER_LINK_BURST));
        let per_address =
            Quota::per_minute(nz(PER_ADDRESS_PER_MINUTE)).allow_burst(nz(PER_ADDRESS_BURST));
        LinkLimiter {
            per_link: RateLimiter::keyed(per_link),
            per_address: RateLimiter::keyed(per_address),
        }
    }
}

impl LinkLimiter {
    /// `Err(seconds to wait)` when the link or the address has used up its quota. `link` is
    /// the link's kind and token as the path carries it (only its hash is kept).
    pub fn check(&self, link: &str, address: IpAddr) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        let wait = |d: Duration| d.as_secs_f64().ceil().max(1.0) as u64;
        // Keys are hashed so that raw tokens are not kept in memory longer than the request.
        let key = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(link.as_bytes())[..16]);
        if let Err(not_until) = self.per_address.check_key(&address) {
            return Err(wait(not_until.wait_time_from(now)));
        }
        if let Err(not_until) = self.per_link.check_key(&key) {
            return Err(wait(not_until.wait_time_from(now)));
        }
        // Forget keys that have fully recovered, so memory stays bounded.
        if self.per_link.len() > 100_000 {
            self.per_link.retain_recent();
        }
        if self.per_address.len() > 100_000 {
            self.per_address.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let peer = SocketAddr::new(proxy, 40000);
        let h = headers(&["203.0.113.9, 198.51.100.7"]);
        // Not trusted (the default): the peer.
        assert_eq!(client_address(&[], peer, &h), proxy);
        // Trusted: the right-most address the proxy saw, not what the client claimed first.
        assert_eq!(
            client_address(&[proxy], peer, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Two trusted proxies in a row are skipped; several header lines are one list.
        let inner: IpAddr = "10.0.0.6".parse().unwrap();
        let h = headers(&["203.0.113.9", "198.51.100.7, 10.0.0.6"]);
        assert_eq!(
            client_address(&[proxy, inner], peer, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Garbage or no header: the peer.
        assert_eq!(
            client_address(&[proxy], peer, &headers(&["nonsense"])),
            proxy
        );
        assert_eq!(client_address(&[proxy], peer, &HeaderMap::new()), proxy);
        // IPv4-mapped IPv6 peers compare as IPv4.
        let mapped = SocketAddr::new("::ffff:10.0.0.5".parse().unwrap(), 1);
        assert_eq!(
            client_address(&[proxy], mapped, &headers(&["192.0.2.1"])),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn links_are_limited_per_link_and_per_address() {
        let limiter = LinkLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..PER_LINK_BURST {
            limiter.check("answer/one", a).unwrap();
        }
        let wait = limiter.check("answer/one", b).unwrap_err();
        assert!((1..=PER_LINK_PERIOD.as_secs()).contains(&wait), "{wait}");
        // Another link from the same address is not affected by the first link's use.
        limiter.check("answer/two", a).unwrap();
        // The address limit holds over many links.
        let mut refused = None;
        for i in 0..PER_ADDRESS_BURST + 10 {
            if limiter.check(&format!("answer/x{i}"), b).is_err() {
                refused = Some(i);
                break;
            }
        }
        // b used 1 of its burst on the refused link above; a slow run may have earned one or
        // two requests back (one every 100 ms).
        assert!(
            refused.is_some_and(|i| (PER_ADDRESS_BURST - 1..PER_ADDRESS_BURST + 5).contains(&i)),
            "{refused:?}"
        );
    }
}
