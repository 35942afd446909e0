//! Turning the answers about a domain into a [`DomainOutcome`].
//!
//! Pure functions over [`Reply`], the answers reduced to the records each rule needs, so
//! that every rule (null MX, implicit MX, which addresses count as reachable) is tested
//! without a resolver. Asking the questions, and keeping the answers, is the resolver's.

use std::net::IpAddr;

use super::DomainOutcome;
use crate::dns::answer::{Failure, Reply};
use crate::dns::is_global;

/// One MX record: its preference, whether its exchange is the root (`.`), and whether it
/// is `localhost` (or a name under it), where a sender can only deliver to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mx {
    pub preference: u16,
    pub root: bool,
    pub loopback: bool,
}

/// A domain's outcome, and why it is unknown when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub outcome: DomainOutcome,
    /// Why the outcome is unknown; `None` for the other outcomes.
    pub failure: Option<Failure>,
}

impl Decision {
    /// No outcome could be told: never a rejection.
    pub(crate) fn unknown(failure: Failure) -> Decision {
        Decision {
            outcome: DomainOutcome::Unknown,
            failure: Some(failure),
        }
    }

    /// A told outcome.
    fn told(outcome: DomainOutcome) -> Decision {
        Decision {
            outcome,
            failure: None,
        }
    }
}

/// What the MX reply alone decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MxStep {
    Decided(Decision),
    /// No MX records: the addresses of the domain itself decide (RFC 5321 §5.1).
    Implicit,
}

/// Classifies the MX reply.
///
/// Any MX with a real exchange makes the domain deliverable. A set whose exchanges are all
/// the root is a null MX: RFC 7505 defines it as the single record `0 .`; a root exchange
/// with another preference is a misconfigured null MX with the same effect (`.` is no host
/// to deliver to), so it is classified the same way. A null MX is a positive answer, so it
/// is told like one. A set whose other exchanges are all `localhost` (as parked domains
/// publish) names no host that mail can reach: no mail host.
pub(crate) fn classify_mx(reply: &Reply<Mx>) -> MxStep {
    match reply {
        Reply::Records(records, _) if !records.is_empty() => {
            let outcome = if records.iter().all(|mx| mx.root) {
                DomainOutcome::NullMx
            } else if records.iter().all(|mx| mx.root || mx.loopback) {
                DomainOutcome::LocalhostMx
            } else {
                DomainOutcome::Deliverable
            };
            MxStep::Decided(Decision::told(outcome))
        }
        // Records of another type only (a CNAME whose target has no MX) is no data.
        Reply::Records(..) | Reply::NoData { .. } => MxStep::Implicit,
        Reply::NxDomain { .. } => MxStep::Decided(Decision::told(DomainOutcome::NotFound)),
        Reply::Transient(failure) => MxStep::Decided(Decision::unknown(*failure)),
    }
}

/// Whether an address reply has a globally routable address.
fn has_global_address(reply: &Reply<IpAddr>) -> bool {
    matches!(reply, Reply::Records(addresses, _) if addresses.iter().any(|ip| is_global(*ip)))
}

/// Classifies the implicit MX of a domain without MX records, from its A reply and, when
/// the A reply had no global address, its AAAA reply (`None` when it was not asked).
///
/// Deliverable when either has a globally routable address ([`is_global`]). Otherwise "no
/// mail host" when both replies were real answers, and unknown when either failed: an
/// address might have been behind the failure.
pub(crate) fn classify_implicit(a: &Reply<IpAddr>, aaaa: Option<&Reply<IpAddr>>) -> Decision {
    if std::iter::once(a).chain(aaaa).any(has_global_address) {
        return Decision::told(DomainOutcome::Deliverable);
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
    Decision::told(DomainOutcome::NoMailHost)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn decided(outcome: DomainOutcome) -> MxStep {
        MxStep::Decided(Decision::told(outcome))
    }

    #[test]
    fn mx_replies() {
        use DomainOutcome::*;
        let cases: Vec<(Reply<Mx>, MxStep)> = vec![
            (Reply::Records(vec![MX], 300), decided(Deliverable)),
            (Reply::Records(vec![NULL, MX], 300), decided(Deliverable)),
            (Reply::Records(vec![NULL], 600), decided(NullMx)),
            (Reply::Records(vec![LOCALHOST], 600), decided(LocalhostMx)),
            (
                Reply::Records(vec![LOCALHOST, NULL], 600),
                decided(LocalhostMx),
            ),
            (
                Reply::Records(vec![LOCALHOST, MX], 600),
                decided(Deliverable),
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
                decided(NullMx),
            ),
            (
                Reply::NxDomain {
                    negative_ttl: Some(900),
                },
                decided(NotFound),
            ),
            (Reply::NxDomain { negative_ttl: None }, decided(NotFound)),
            (
                Reply::Transient(Failure::Refused),
                MxStep::Decided(Decision::unknown(Failure::Refused)),
            ),
            (
                Reply::NoData {
                    negative_ttl: Some(900),
                },
                MxStep::Implicit,
            ),
            (Reply::Records(vec![], 300), MxStep::Implicit),
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
            (Some(900), public.clone(), None, d(Deliverable)),
            (Some(900), nodata(900), Some(public6), d(Deliverable)),
            (
                Some(900),
                Reply::Transient(Failure::Timeout),
                Some(ips(&["2606:4700:4700::1111"], 240)),
                d(Deliverable),
            ),
            (Some(900), private.clone(), Some(nodata(800)), d(NoMailHost)),
            (Some(900), nodata(700), Some(private6), d(NoMailHost)),
            (Some(900), nodata(900), Some(nodata(900)), d(NoMailHost)),
            // A negative answer without an SOA may not be kept, nor what stands on it.
            (None, nodata(900), Some(nodata(900)), d(NoMailHost)),
            (
                Some(900),
                Reply::NxDomain { negative_ttl: None },
                Some(nodata(900)),
                d(NoMailHost),
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
                classify_implicit(&a, aaaa.as_ref()),
                decision,
                "{mx_ttl:?} {a:?} {aaaa:?}"
            );
        }
        assert_eq!(classify_implicit(&public, None).outcome, Deliverable);
    }
}
