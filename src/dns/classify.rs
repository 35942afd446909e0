//! Turning DNS replies into a [`DomainOutcome`], and how long that outcome may be kept.
//!
//! Pure functions over [`Reply`], a reduced form of a resolver's answer, so that every rule
//! (null MX, implicit MX, which addresses count as reachable, TTL clamping) is tested
//! without a resolver. Asking the questions is left to [`super::resolve`], keeping the
//! answers to [`super::cache`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::DomainOutcome;

/// One query's reply, reduced to what the classification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<T> {
    /// Records of the asked type, and the smallest TTL of the answer's records (a CNAME
    /// leading to them included, since the answer is only as fresh as its weakest link).
    Records(Vec<T>, u32),
    /// NOERROR with no records of the asked type. The negative TTL comes from the SOA in
    /// the authority section (RFC 2308); `None` when there was none.
    NoData { negative_ttl: Option<u32> },
    /// NXDOMAIN, with its negative TTL as for `NoData`.
    NxDomain { negative_ttl: Option<u32> },
    /// No usable answer this time, and why.
    Transient(Failure),
}

/// Why a query got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No response within the timeout.
    Timeout,
    /// SERVFAIL: the server could not get an answer (a broken zone, failed DNSSEC).
    ServFail,
    /// REFUSED: the server will not answer this client or this question.
    Refused,
    /// Name servers to ask instead of an answer: the server does not recurse.
    Referral,
    /// Anything else: an I/O error, a malformed response, the run shutting down.
    Other,
}

impl Failure {
    pub const ALL: [Failure; 5] = [
        Failure::Timeout,
        Failure::ServFail,
        Failure::Refused,
        Failure::Referral,
        Failure::Other,
    ];

    /// The stable name used in the report.
    pub fn code(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::ServFail => "servfail",
            Failure::Refused => "refused",
            Failure::Referral => "referral",
            Failure::Other => "other",
        }
    }
}

/// One MX record: its preference, whether its exchange is the root (`.`), and whether it
/// is `localhost` (or a name under it), where a sender can only deliver to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mx {
    pub preference: u16,
    pub root: bool,
    pub loopback: bool,
}

/// A domain's outcome and for how long, in seconds, the answers behind it hold.
///
/// `ttl` is `None` when the outcome must not be kept beyond the run: transient failures,
/// and negative answers that came without an SOA (RFC 2308 §5: no SOA, no caching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub outcome: DomainOutcome,
    pub ttl: Option<u32>,
    /// Whether this outcome stands on a positive answer (MX or address records) rather than
    /// a negative one, which decides which TTL range clamps it (see [`TtlRange`]).
    pub positive: bool,
    /// Why the outcome is unknown; `None` for the other outcomes.
    pub failure: Option<Failure>,
}

impl Decision {
    /// No outcome could be told: never stored, never a rejection.
    pub(crate) fn unknown(failure: Failure) -> Decision {
        Decision {
            outcome: DomainOutcome::Unknown,
            ttl: None,
            positive: false,
            failure: Some(failure),
        }
    }

    /// A told outcome.
    fn told(outcome: DomainOutcome, ttl: Option<u32>, positive: bool) -> Decision {
        Decision {
            outcome,
            ttl,
            positive,
            failure: None,
        }
    }
}

/// What the MX reply alone decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MxStep {
    Decided(Decision),
    /// No MX records: the addresses of the domain itself decide (RFC 5321 §5.1). Carries
    /// the MX reply's negative TTL, which bounds how long a "no mail host" may be kept.
    Implicit {
        negative_ttl: Option<u32>,
    },
}

/// Classifies the MX reply.
///
/// Any MX with a real exchange makes the domain deliverable. A set whose exchanges are all
/// the root is a null MX: RFC 7505 defines it as the single record `0 .`; a root exchange
/// with another preference is a misconfigured null MX with the same effect (`.` is no host
/// to deliver to), so it is classified the same way. A null MX is a positive answer, so it
/// is kept like one. A set whose other exchanges are all `localhost` (as parked domains
/// publish) names no host that mail can reach: no mail host.
pub(crate) fn classify_mx(reply: &Reply<Mx>) -> MxStep {
    match reply {
        Reply::Records(records, ttl) if !records.is_empty() => {
            let outcome = if records.iter().all(|mx| mx.root) {
                DomainOutcome::NullMx
            } else if records.iter().all(|mx| mx.root || mx.loopback) {
                DomainOutcome::NoMailHost
            } else {
                DomainOutcome::Deliverable
            };
            MxStep::Decided(Decision::told(outcome, Some(*ttl), true))
        }
        // Records of another type only (a CNAME whose target has no MX) is no data.
        Reply::Records(..) => MxStep::Implicit { negative_ttl: None },
        Reply::NoData { negative_ttl } => MxStep::Implicit {
            negative_ttl: *negative_ttl,
        },
        Reply::NxDomain { negative_ttl } => MxStep::Decided(Decision::told(
            DomainOutcome::NotFound,
            *negative_ttl,
            false,
        )),
        Reply::Transient(failure) => MxStep::Decided(Decision::unknown(*failure)),
    }
}

/// What one address reply says about the implicit MX.
fn global_address_ttl(reply: &Reply<IpAddr>) -> Option<u32> {
    match reply {
        Reply::Records(addresses, ttl) if addresses.iter().any(|ip| is_global(*ip)) => Some(*ttl),
        _ => None,
    }
}

/// How long an address reply with no global address holds, if it may be kept at all.
/// Records (all unreachable) hold for their TTL; negative replies for their negative TTL.
fn non_global_ttl(reply: &Reply<IpAddr>) -> Option<u32> {
    match reply {
        Reply::Records(_, ttl) => Some(*ttl),
        Reply::NoData { negative_ttl } | Reply::NxDomain { negative_ttl } => *negative_ttl,
        Reply::Transient(_) => None,
    }
}

/// Classifies the implicit MX of a domain without MX records, from its A reply and, when
/// the A reply had no global address, its AAAA reply (`None` when it was not asked).
///
/// Deliverable when either has a globally routable address ([`is_global`]). Otherwise "no
/// mail host" when both replies were real answers, and unknown when either failed: an
/// address might have been behind the failure. "No mail host" holds as long as the
/// shortest of the answers it stands on.
pub(crate) fn classify_implicit(
    mx_negative_ttl: Option<u32>,
    a: &Reply<IpAddr>,
    aaaa: Option<&Reply<IpAddr>>,
) -> Decision {
    for reply in std::iter::once(a).chain(aaaa) {
        if let Some(ttl) = global_address_ttl(reply) {
            return Decision::told(DomainOutcome::Deliverable, Some(ttl), true);
        }
    }
    let Some(aaaa) = aaaa else {
        // Only reached when the caller skipped AAAA although A found nothing global:
        // not enough to conclude.
        return Decision::unknown(Failure::Other);
    };
    for reply in [a, aaaa] {
        if let Reply::Transient(failure) = reply {
            return Decision::unknown(*failure);
        }
    }
    // A missing TTL anywhere means one answer may not be cached, so neither may the outcome.
    let ttl = [mx_negative_ttl, non_global_ttl(a), non_global_ttl(aaaa)]
        .into_iter()
        .try_fold(u32::MAX, |min, ttl| ttl.map(|t| min.min(t)));
    Decision::told(DomainOutcome::NoMailHost, ttl, false)
}

/// A range that cache lifetimes are clamped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlRange {
    pub min: Duration,
    pub max: Duration,
}

impl TtlRange {
    /// `ttl` seconds, raised to `min` and lowered to `max`. When `min > max` (which the
    /// binary never builds) `max` wins, so a cache is never kept longer than asked.
    pub fn clamp(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl))
            .max(self.min)
            .min(self.max)
    }
}

/// Whether mail could be delivered to `ip` from the internet: not private, loopback,
/// link-local, unspecified, documentation, shared (CGNAT), benchmarking, multicast,
/// reserved or otherwise special-purpose (the IANA special-purpose registries, where
/// "globally reachable" is false). IPv4-mapped and NAT64 IPv6 addresses are judged by the
/// IPv4 address inside them.
///
/// `std`'s `IpAddr::is_global` would do, but it is unstable.
///
/// ```
/// use listclean::dns::is_global;
/// assert!(is_global("93.184.216.34".parse().unwrap()));
/// assert!(!is_global("192.168.10.5".parse().unwrap()));
/// assert!(!is_global("fd00::25".parse().unwrap()));
/// assert!(is_global("2606:4700:4700::1111".parse().unwrap()));
/// ```
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, d] = ip.octets();
    let in_net = |net: [u8; 4], len: u32| {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        u32::from(ip) & mask == u32::from_be_bytes(net) & mask
    };
    // 192.0.0.9 and 192.0.0.10 (PCP and TURN anycast) are the globally reachable
    // exceptions inside 192.0.0.0/24.
    if a == 192 && b == 0 && c == 0 && (d == 9 || d == 10) {
        return true;
    }
    !(a == 0 // "this network"
        || a == 10 // private
        || a == 127 // loopback
        || in_net([100, 64, 0, 0], 10) // shared address space (CGNAT)
        || in_net([169, 254, 0, 0], 16) // link-local
        || in_net([172, 16, 0, 0], 12) // private
        || in_net([192, 0, 0, 0], 24) // IETF protocol assignments
        || in_net([192, 0, 2, 0], 24) // documentation TEST-NET-1
        || in_net([192, 31, 196, 0], 24) // AS112
        || in_net([192, 52, 193, 0], 24) // AMT
        || in_net([192, 88, 99, 0], 24) // deprecated 6to4 relay anycast
        || in_net([192, 168, 0, 0], 16) // private
        || in_net([192, 175, 48, 0], 24) // direct delegation AS112
        || in_net([198, 18, 0, 0], 15) // benchmarking
        || in_net([198, 51, 100, 0], 24) // documentation TEST-NET-2
        || in_net([203, 0, 113, 0], 24) // documentation TEST-NET-3
        || a >= 224) // multicast 224/4, reserved 240/4, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let bits = u128::from(ip);
    let in_net = |net: u128, len: u32| {
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        bits & mask == net & mask
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    // The well-known NAT64 prefix 64:ff9b::/96 (RFC 6052) reaches the IPv4 address inside.
    if in_net(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        let [.., a, b] = segments;
        let v4 = Ipv4Addr::from((u32::from(a) << 16) | u32::from(b));
        return is_global_v4(v4);
    }
    // Inside 2001::/23 (IETF protocol assignments), only these are globally reachable.
    let ietf_global = bits == 0x2001_0001_0000_0000_0000_0000_0000_0001 // PCP anycast
        || bits == 0x2001_0001_0000_0000_0000_0000_0000_0002 // TURN anycast
        || in_net(0x2001_0003 << 96, 32) // AMT
        || in_net(0x2001_0004_0112 << 80, 48) // AS112-v6
        || in_net(0x2001_0020 << 96, 28) // ORCHIDv2
        || in_net(0x2001_0030 << 96, 28); // DRIP
    if in_net(0x2001 << 112, 23) {
        return ietf_global;
    }
    // Only 2000::/3 is allocated for global unicast; everything outside it (::/8 with the
    // unspecified, loopback and IPv4-compatible addresses, 100::/64 discard, fc00::/7
    // unique local, fe80::/10 link-local, ff00::/8 multicast, ...) is special or reserved.
    in_net(0x2000 << 112, 3)
        && !in_net(0x2001_0db8 << 96, 32) // documentation
        && !in_net(0x3fff << 112, 20) // documentation (RFC 9637)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_addresses() {
        let cases: &[(&str, bool)] = &[
            // IPv4
            ("93.184.216.34", true),
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("203.0.112.255", true),
            ("203.0.114.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("192.0.0.9", true),
            ("192.0.0.10", true),
            ("223.255.255.255", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.0.0.1", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("169.254.1.1", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.10.5", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("198.51.100.7", false),
            ("203.0.113.10", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("192.88.99.1", false),
            ("224.0.0.1", false),
            ("239.255.255.255", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv6
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001:80b::200e", true),
            ("2001:4860:4860::8888", true),
            ("2001:200::1", true),
            ("2001:1::1", true),
            ("2001:20::1", true),
            ("::ffff:93.184.216.34", true),
            ("64:ff9b::808:808", true),
            ("::", false),
            ("::1", false),
            ("::ffff:192.168.1.1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:0.0.0.0", false),
            ("64:ff9b::a00:1", false),
            ("64:ff9b:1::1", false),
            ("::8.8.8.8", false),
            ("100::1", false),
            ("2001::1", false),
            ("2001:1::3", false),
            ("2001:db8::1", false),
            ("2001:db8:ffff::1", false),
            ("3fff::1", false),
            ("fc00::1", false),
            ("fd00::25", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("5f00::1", false),
            ("4000::1", false),
        ];
        for &(text, global) in cases {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(is_global(ip), global, "{text}");
        }
    }

    const MX: Mx = Mx {
        preference: 10,
        root: false,
        loopback: false,
    };
    const NULL: Mx = Mx {
        preference: 0,
        root: true,
        loopback: false,
    };
    const LOCALHOST: Mx = Mx {
        preference: 10,
        root: false,
        loopback: true,
    };

    fn decided(outcome: DomainOutcome, ttl: Option<u32>, positive: bool) -> MxStep {
        MxStep::Decided(Decision::told(outcome, ttl, positive))
    }

    #[test]
    fn mx_replies() {
        use DomainOutcome::*;
        let cases: Vec<(Reply<Mx>, MxStep)> = vec![
            (
                Reply::Records(vec![MX], 300),
                decided(Deliverable, Some(300), true),
            ),
            (
                Reply::Records(vec![NULL, MX], 300),
                decided(Deliverable, Some(300), true),
            ),
            (
                Reply::Records(vec![NULL], 600),
                decided(NullMx, Some(600), true),
            ),
            (
                Reply::Records(vec![LOCALHOST], 600),
                decided(NoMailHost, Some(600), true),
            ),
            (
                Reply::Records(vec![LOCALHOST, NULL], 600),
                decided(NoMailHost, Some(600), true),
            ),
            (
                Reply::Records(vec![LOCALHOST, MX], 600),
                decided(Deliverable, Some(600), true),
            ),
            (
                Reply::Records(
                    vec![Mx {
                        preference: 10,
                        root: true,
                        loopback: false,
                    }],
                    600,
                ),
                decided(NullMx, Some(600), true),
            ),
            (
                Reply::NxDomain {
                    negative_ttl: Some(900),
                },
                decided(NotFound, Some(900), false),
            ),
            (
                Reply::NxDomain { negative_ttl: None },
                decided(NotFound, None, false),
            ),
            (
                Reply::Transient(Failure::Refused),
                MxStep::Decided(Decision::unknown(Failure::Refused)),
            ),
            (
                Reply::NoData {
                    negative_ttl: Some(900),
                },
                MxStep::Implicit {
                    negative_ttl: Some(900),
                },
            ),
            (
                Reply::Records(vec![], 300),
                MxStep::Implicit { negative_ttl: None },
            ),
        ];
        for (reply, step) in cases {
            assert_eq!(classify_mx(&reply), step, "{reply:?}");
        }
    }

    fn ips(list: &[&str], ttl: u32) -> Reply<IpAddr> {
        Reply::Records(list.iter().map(|s| s.parse().expect(s)).collect(), ttl)
    }

    #[test]
    fn implicit_mx() {
        use DomainOutcome::*;
        let nodata = |ttl| Reply::NoData {
            negative_ttl: Some(ttl),
        };
        let d = Decision::told;
        let public = ips(&["192.168.1.1", "93.184.216.34"], 120);
        let private = ips(&["192.168.10.5"], 3000);
        let public6 = ips(&["2606:4700:4700::1111"], 240);
        let private6 = ips(&["fd00::25"], 100);
        // (MX negative TTL, A reply, AAAA reply, expected)
        type Case = (Option<u32>, Reply<IpAddr>, Option<Reply<IpAddr>>, Decision);
        let cases: Vec<Case> = vec![
            (
                Some(900),
                public.clone(),
                None,
                d(Deliverable, Some(120), true),
            ),
            (
                Some(900),
                nodata(900),
                Some(public6),
                d(Deliverable, Some(240), true),
            ),
            (
                Some(900),
                Reply::Transient(Failure::Timeout),
                Some(ips(&["2606:4700:4700::1111"], 240)),
                d(Deliverable, Some(240), true),
            ),
            (
                Some(900),
                private.clone(),
                Some(nodata(800)),
                d(NoMailHost, Some(800), false),
            ),
            (
                Some(900),
                nodata(700),
                Some(private6),
                d(NoMailHost, Some(100), false),
            ),
            (
                Some(900),
                nodata(900),
                Some(nodata(900)),
                d(NoMailHost, Some(900), false),
            ),
            // A negative answer without an SOA may not be kept, nor what stands on it.
            (
                None,
                nodata(900),
                Some(nodata(900)),
                d(NoMailHost, None, false),
            ),
            (
                Some(900),
                Reply::NxDomain { negative_ttl: None },
                Some(nodata(900)),
                d(NoMailHost, None, false),
            ),
            (
                Some(900),
                private.clone(),
                Some(Reply::Transient(Failure::Timeout)),
                Decision::unknown(Failure::Timeout),
            ),
            (
                Some(900),
                Reply::Transient(Failure::ServFail),
                Some(nodata(900)),
                Decision::unknown(Failure::ServFail),
            ),
            (Some(900), private, None, Decision::unknown(Failure::Other)),
        ];
        for (mx_ttl, a, aaaa, decision) in cases {
            assert_eq!(
                classify_implicit(mx_ttl, &a, aaaa.as_ref()),
                decision,
                "{mx_ttl:?} {a:?} {aaaa:?}"
            );
        }
        assert_eq!(classify_implicit(None, &public, None).outcome, Deliverable);
    }

    #[test]
    fn ttl_clamping() {
        let positive = TtlRange {
            min: Duration::from_secs(3600),
            max: Duration::from_secs(7 * 86400),
        };
        let secs = |ttl| positive.clamp(ttl).as_secs();
        assert_eq!(secs(0), 3600);
        assert_eq!(secs(60), 3600);
        assert_eq!(secs(3600), 3600);
        assert_eq!(secs(86400), 86400);
        assert_eq!(secs(864_000), 7 * 86400);
        assert_eq!(secs(u32::MAX), 7 * 86400);
        let inverted = TtlRange {
            min: Duration::from_secs(100),
            max: Duration::from_secs(10),
        };
        assert_eq!(inverted.clamp(50).as_secs(), 10);
    }
}
