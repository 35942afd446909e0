//! What a name server said to one question, in a form of our own: the records of any type
//! the product asks for, a negative answer with how long it holds (RFC 2308), or why there
//! was no usable answer. Kept in the persistent cache as it is.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The record types the product asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordType {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
    Ns,
    Soa,
    Cname,
}

impl RecordType {
    /// Every type, in the order of their values.
    pub const ALL: [RecordType; 8] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ptr,
        RecordType::Ns,
        RecordType::Soa,
        RecordType::Cname,
    ];

    /// The type's name, as DNS writes it.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ptr => "PTR",
            RecordType::Ns => "NS",
            RecordType::Soa => "SOA",
            RecordType::Cname => "CNAME",
        }
    }

    pub(crate) fn to_hickory(self) -> hickory_resolver::proto::rr::RecordType {
        use hickory_resolver::proto::rr::RecordType as H;
        match self {
            RecordType::A => H::A,
            RecordType::Aaaa => H::AAAA,
            RecordType::Mx => H::MX,
            RecordType::Txt => H::TXT,
            RecordType::Ptr => H::PTR,
            RecordType::Ns => H::NS,
            RecordType::Soa => H::SOA,
            RecordType::Cname => H::CNAME,
        }
    }
}

/// A question: the name (lowercase, without the final dot) and the type.
pub(crate) type Question = (Box<str>, RecordType);

/// One record of an answer. Names are written without the final dot, lowercase as the
/// server gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx {
        preference: u16,
        /// `.` for the null MX (RFC 7505).
        exchange: String,
    },
    /// The record's character strings joined without separators, as SPF (RFC 7208 §3.3)
    /// and DKIM read them; bytes that are not UTF-8 are replaced.
    Txt(String),
    Ptr(String),
    Ns(String),
    Cname(String),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        minimum: u32,
    },
}

impl Record {
    pub(crate) fn from_hickory(data: &hickory_resolver::proto::rr::RData) -> Option<Record> {
        use hickory_resolver::proto::rr::RData;
        let name = |n: &hickory_resolver::proto::rr::Name| {
            if n.is_root() {
                ".".to_owned()
            } else {
                n.to_ascii().trim_end_matches('.').to_owned()
            }
        };
        Some(match data {
            RData::A(a) => Record::A(a.0),
            RData::AAAA(a) => Record::Aaaa(a.0),
            RData::MX(mx) => Record::Mx {
                preference: mx.preference,
                exchange: name(&mx.exchange),
            },
            RData::TXT(txt) => Record::Txt(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect(),
            ),
            RData::PTR(ptr) => Record::Ptr(name(&ptr.0)),
            RData::NS(ns) => Record::Ns(name(&ns.0)),
            RData::CNAME(cname) => Record::Cname(name(&cname.0)),
            RData::SOA(soa) => Record::Soa {
                mname: name(&soa.mname),
                rname: name(&soa.rname),
                serial: soa.serial,
                minimum: soa.minimum,
            },
            _ => return None,
        })
    }
}

/// Why a question got no usable answer: never a reason to reject anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// No response within the timeout.
    Timeout,
    /// SERVFAIL: the server could not get an answer (a broken zone, failed DNSSEC).
    ServFail,
    /// REFUSED: the server will not answer this client or this question.
    Refused,
    /// Name servers to ask instead of an answer: the server does not recurse.
    Referral,
    /// Anything else: an I/O error, a malformed response, the run shutting down, no name
    /// server answering at all.
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

    /// The stable name used in reports.
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

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Records, and the smallest TTL among them (a CNAME leading to them included: the
    /// answer is only as fresh as its weakest link). The records are those of the answer
    /// section: the asked type, and the CNAMEs on the way to it.
    Records { records: Vec<Record>, ttl: u32 },
    /// NOERROR with no records. The negative TTL comes from the SOA in the authority
    /// section (RFC 2308); `None` when there was none, and then the answer is not kept.
    NoData { negative_ttl: Option<u32> },
    /// NXDOMAIN, with its negative TTL as for `NoData`.
    NxDomain { negative_ttl: Option<u32> },
    /// No usable answer this time, and why.
    Failed(Failure),
}

impl Answer {
    /// The records of the answer that `pick` takes; an answer with none of them (only a
    /// CNAME to a name without such records) is no data, with no SOA to bound it.
    pub(crate) fn pick<T>(&self, pick: impl Fn(&Record) -> Option<T>) -> Reply<T> {
        match self {
            Answer::Records { records, ttl } => {
                let picked: Vec<T> = records.iter().filter_map(pick).collect();
                if picked.is_empty() {
                    Reply::NoData { negative_ttl: None }
                } else {
                    Reply::Records(picked, *ttl)
                }
            }
            Answer::NoData { negative_ttl } => Reply::NoData {
                negative_ttl: *negative_ttl,
            },
            Answer::NxDomain { negative_ttl } => Reply::NxDomain {
                negative_ttl: *negative_ttl,
            },
            Answer::Failed(failure) => Reply::Transient(*failure),
        }
    }

    /// How long the answer may be kept, in seconds, and whether it stands on records;
    /// `None` when it must not be kept beyond the run (a failure, or a negative answer
    /// without an SOA: RFC 2308 §5).
    pub fn ttl(&self) -> Option<(u32, bool)> {
        match self {
            Answer::Records { ttl, .. } => Some((*ttl, true)),
            Answer::NoData { negative_ttl } | Answer::NxDomain { negative_ttl } => {
                negative_ttl.map(|ttl| (ttl, false))
            }
            Answer::Failed(_) => None,
        }
    }

    /// The TXT strings of the answer.
    pub fn txt(&self) -> Vec<&str> {
        self.records()
            .iter()
            .filter_map(|r| match r {
                Record::Txt(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The records, if the answer has any.
    pub fn records(&self) -> &[Record] {
        match self {
            Answer::Records { records, .. } => records,
            _ => &[],
        }
    }
}

/// One answer reduced to the records of one kind that a classification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<T> {
    Records(Vec<T>, u32),
    NoData { negative_ttl: Option<u32> },
    NxDomain { negative_ttl: Option<u32> },
    Transient(Failure),
}
