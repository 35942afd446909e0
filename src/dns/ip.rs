//! Which IP addresses can be reached from the internet, for every client of DNS alike:
//! an implicit MX, a sending IP, a host a blocklist names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
}
