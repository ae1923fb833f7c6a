//! Which network addresses outbound messages may reach outside the local stack: public
//! unicast only. A webhook host name that resolves to a private, loopback, link-local
//! (the instance metadata service) or otherwise special address is refused at connection
//! time, so a lab cannot use the service to reach the network it runs in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        // 100.64.0.0/10, carrier-grade NAT; 0.0.0.0/8; 198.18.0.0/15, benchmarking.
        || (a == 100 && (64..128).contains(&b))
        || a == 0
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    let first = seg[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link local, fec0::/10 site local (deprecated).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // 2001:db8::/32 documentation; 2001::/32 Teredo and 2002::/16 6to4, which tunnel to
        // an embedded IPv4 address of any kind.
        || (first == 0x2001 && (seg[1] == 0x0db8 || seg[1] == 0))
        || first == 0x2002
        // 64:ff9b::/96 and 64:ff9b:1::/48, NAT64: a path to any IPv4 address, private ones too.
        || (first == 0x0064 && seg[1] == 0xff9b)
        // ::/96, IPv4-compatible addresses (deprecated).
        || seg[..6].iter().all(|s| *s == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast() {
        for ok in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2001:0:4136:e378::1",
            "::10.0.0.1",
            "::8.8.8.8",
            "fec0::1",
            "fef0::1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
    }
}
