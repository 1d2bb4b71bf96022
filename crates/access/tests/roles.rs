//! Every combination of group role × source-address class × IP restriction, with the malformed
//! forms of both inputs, against tables written out by hand; and a property test that more
//! groups of no standing, or an address outside every range, never raise the role.

use logmask_access::{AccessPolicy, GroupTable, IpTable, rank};
use logmask_mask::Role;
use proptest::prelude::*;
use serde_json::{Value, json};

const A: Role = Role::Admin;
const O: Role = Role::Operator;
const R: Role = Role::Readonly;

fn policy(ip_restriction: bool) -> AccessPolicy {
    let mut groups = GroupTable::standard("ses-migration", "production");
    groups.extend_from_spec("AWSReservedSSO_LogOperators_0a1b2c3d=operator").unwrap();
    AccessPolicy {
        groups,
        ips: IpTable::parse("10.0.0.0/8,2001:db8:ad::/48", "192.168.100.0/24,2001:db8:0f::/48").unwrap(),
        ip_restriction,
    }
}

/// (description, `userGroups` value or None for absent, the group role it must give)
fn group_cases() -> Vec<(&'static str, Option<Value>, Role)> {
    vec![
        ("admin group", Some(json!(["ses-migration-production-admin"])), A),
        ("admin group ARN", Some(json!(["arn:aws:iam::123456789012:group/ses/ses-migration-production-admin"])), A),
        ("admin group, other case", Some(json!(["SES-Migration-Production-ADMIN"])), A),
        ("operator group", Some(json!(["ses-migration-production-operator"])), O),
        ("mapped SSO role name", Some(json!(["AWSReservedSSO_LogOperators_0a1b2c3d"])), O),
        ("readonly group", Some(json!(["ses-migration-production-readonly"])), R),
        ("monitoring group", Some(json!(["ses-migration-production-monitoring"])), R),
        ("readonly + admin", Some(json!(["ses-migration-production-readonly", "ses-migration-production-admin"])), A),
        ("operator + unknown", Some(json!(["ses-migration-production-operator", "marketing"])), O),
        (
            "operator + readonly + monitoring",
            Some(json!([
                "ses-migration-production-operator",
                "ses-migration-production-readonly",
                "ses-migration-production-monitoring"
            ])),
            O,
        ),
        ("other environment's admin", Some(json!(["ses-migration-staging-admin"])), R),
        ("unknown group", Some(json!(["marketing"])), R),
        ("absent", None, R),
        ("null", Some(Value::Null), R),
        ("empty list", Some(json!([])), R),
        ("a string, not a list", Some(json!("ses-migration-production-admin")), R),
        ("an object", Some(json!({"group": "ses-migration-production-admin"})), R),
        ("a number", Some(json!(7)), R),
        ("nested list", Some(json!([["ses-migration-production-admin"]])), R),
        ("admin + a number", Some(json!(["ses-migration-production-admin", 1])), R),
        ("admin + null", Some(json!(["ses-migration-production-admin", null])), R),
        ("padded admin", Some(json!([" ses-migration-production-admin"])), R),
        ("empty name", Some(json!([""])), R),
        ("admin + empty name", Some(json!(["ses-migration-production-admin", ""])), R),
        ("role name with a suffix", Some(json!(["ses-migration-production-admin2"])), R),
        ("user ARN, not a group", Some(json!(["arn:aws:iam::123456789012:user/ses-migration-production-admin"])), R),
        ("ARN with a short account", Some(json!(["arn:aws:iam::1234:group/ses-migration-production-admin"])), R),
        ("name with a slash", Some(json!(["x/ses-migration-production-admin"])), R),
        ("control character", Some(json!(["ses-migration-production-admin\n"])), R),
    ]
}

/// (description, `sourceIp` value or None, the IP role it must give)
fn ip_cases() -> Vec<(&'static str, Option<Value>, Role)> {
    vec![
        ("admin IPv4", Some(json!("10.1.2.3")), A),
        ("admin IPv4, range edge", Some(json!("10.255.255.255")), A),
        ("admin IPv6", Some(json!("2001:db8:ad::5")), A),
        ("admin IPv4-mapped IPv6", Some(json!("::ffff:10.1.2.3")), A),
        ("admin IPv4-mapped IPv6, hex", Some(json!("::ffff:a01:203")), A),
        ("operator IPv4", Some(json!("192.168.100.7")), O),
        ("operator IPv6", Some(json!("2001:db8:f::1")), O),
        ("operator IPv4-mapped IPv6", Some(json!("::ffff:192.168.100.7")), O),
        ("next to the operator range", Some(json!("192.168.101.7")), R),
        ("outside IPv4", Some(json!("203.0.113.5")), R),
        ("outside IPv6", Some(json!("2001:db8:1::1")), R),
        ("IPv4-compatible, not mapped", Some(json!("::10.1.2.3")), R),
        ("absent", None, R),
        ("null", Some(Value::Null), R),
        ("empty", Some(json!("")), R),
        ("octet out of range", Some(json!("10.0.0.300")), R),
        ("a CIDR", Some(json!("10.0.0.1/8")), R),
        ("leading space", Some(json!(" 10.0.0.1")), R),
        ("trailing newline", Some(json!("10.0.0.1\n")), R),
        ("with a port", Some(json!("10.0.0.1:443")), R),
        ("leading zeros", Some(json!("010.0.0.1")), R),
        ("three parts", Some(json!("10.0.1")), R),
        ("bracketed IPv6", Some(json!("[2001:db8:ad::5]")), R),
        ("IPv6 with a zone", Some(json!("fe80::1%eth0")), R),
        ("a list", Some(json!(["10.0.0.1"])), R),
        ("a number", Some(json!(167772161)), R),
        ("an object", Some(json!({"ip": "10.0.0.1"})), R),
        ("a host name", Some(json!("ip-10-0-0-1.ec2.internal")), R),
    ]
}

#[test]
fn every_group_and_address_form_alone() {
    let p = policy(true);
    for (what, groups, want) in group_cases() {
        assert_eq!(p.decide_json(groups.as_ref(), Some(&json!("10.0.0.1"))).group_role, want, "groups: {what}");
    }
    for (what, ip, want) in ip_cases() {
        let admin = json!(["ses-migration-production-admin"]);
        assert_eq!(p.decide_json(Some(&admin), ip.as_ref()).ip_role, want, "sourceIp: {what}");
    }
}

/// The rule, written out for the three roles: with restriction the lower of the two, without
/// it the group role.
const MATRIX: [(Role, Role, Role, Role); 9] = [
    // group, ip, restriction on, restriction off
    (A, A, A, A),
    (A, O, O, A),
    (A, R, R, A),
    (O, A, O, O),
    (O, O, O, O),
    (O, R, R, O),
    (R, A, R, R),
    (R, O, R, R),
    (R, R, R, R),
];

#[test]
fn every_combination_of_group_form_address_form_and_restriction() {
    let mut checked = 0;
    for restriction in [true, false] {
        let p = policy(restriction);
        for (gwhat, groups, grole) in group_cases() {
            for (iwhat, ip, irole) in ip_cases() {
                let &(_, _, on, off) =
                    MATRIX.iter().find(|(g, i, _, _)| *g == grole && *i == irole).expect("every pair is in the matrix");
                let want = if restriction { on } else { off };
                let d = p.decide_json(groups.as_ref(), ip.as_ref());
                assert_eq!(
                    (d.role, d.group_role, d.ip_role, d.ip_restriction),
                    (want, grole, irole, restriction),
                    "groups: {gwhat}; sourceIp: {iwhat}; restriction {restriction}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * group_cases().len() * ip_cases().len());
}

#[test]
fn the_decision_says_why() {
    let p = policy(true);
    let d = p.decide_json(Some(&json!(["ses-migration-production-admin"])), Some(&json!("192.168.100.7")));
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({"role": "operator", "groupRole": "admin", "ipRole": "operator", "ipRestriction": true})
    );
    let d = p.decide_json(Some(&json!("admin")), Some(&json!(" 10.0.0.1")));
    assert_eq!(serde_json::to_value(&d).unwrap()["notes"], json!(["groupsMalformed", "sourceIpMalformed"]));
    let d = p.decide_json(None, None);
    assert_eq!(serde_json::to_value(&d).unwrap()["notes"], json!(["groupsMissing", "sourceIpMissing"]));
    let d = p.decide_json(Some(&json!(["marketing"])), Some(&json!("203.0.113.9")));
    assert_eq!(serde_json::to_value(&d).unwrap()["notes"], json!(["noRecognisedGroup", "sourceIpOutsideRanges"]));
}

fn pool_group() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("ses-migration-production-admin")),
        Just(json!("ses-migration-production-operator")),
        Just(json!("ses-migration-production-readonly")),
        Just(json!("ses-migration-production-monitoring")),
        Just(json!("arn:aws:iam::123456789012:group/a/ses-migration-production-admin")),
        Just(json!("AWSReservedSSO_LogOperators_0a1b2c3d")),
        Just(json!("marketing")),
        Just(json!("")),
        Just(json!(" ses-migration-production-admin")),
        Just(json!(null)),
        Just(json!(3)),
        Just(json!(["ses-migration-production-admin"])),
        "[ -~]{0,40}".prop_map(Value::String),
    ]
}

/// Entries that grant nothing on their own: unknown names and malformed values.
fn no_standing() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("marketing")),
        Just(json!("ses-migration-staging-admin")),
        Just(json!("")),
        Just(json!(" ses-migration-production-admin")),
        Just(json!(null)),
        Just(json!(1)),
        Just(json!({})),
        Just(json!(["ses-migration-production-admin"])),
        "[a-z]{1,12}".prop_map(Value::String),
    ]
}

fn pool_ip() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        any::<u32>().prop_map(|n| Some(json!(std::net::Ipv4Addr::from(n).to_string()))),
        any::<u32>().prop_map(|n| Some(json!(format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)))),
        any::<u8>().prop_map(|n| Some(json!(format!("192.168.100.{n}")))),
        any::<u8>().prop_map(|n| Some(json!(format!("::ffff:10.0.0.{n}")))),
        any::<u16>().prop_map(|n| Some(json!(format!("2001:db8:ad::{n:x}")))),
        any::<u128>().prop_map(|n| Some(json!(std::net::Ipv6Addr::from(n).to_string()))),
        Just(None),
        Just(Some(json!("10.0.0.300"))),
        Just(Some(json!(["10.0.0.1"]))),
        "[ -~]{0,20}".prop_map(|s| Some(Value::String(s))),
    ]
}

/// Addresses outside every configured range.
fn outside_ip() -> impl Strategy<Value = Value> {
    prop_oneof![
        (11u8..=191, any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c, d)| json!(format!("{a}.{b}.{c}.{d}"))),
        any::<u8>().prop_map(|n| json!(format!("192.168.101.{n}"))),
        any::<u16>().prop_map(|n| json!(format!("2001:db8:1::{n:x}"))),
        any::<u8>().prop_map(|n| json!(format!("::ffff:203.0.113.{n}"))),
    ]
}

proptest! {
    #[test]
    fn adding_a_group_of_no_standing_or_leaving_the_ranges_never_raises_the_role(
        groups in prop::collection::vec(pool_group(), 0..5),
        extra in no_standing(),
        position in any::<prop::sample::Index>(),
        ip in pool_ip(),
        outside in outside_ip(),
        restriction in any::<bool>(),
    ) {
        let p = policy(restriction);
        let before = p.decide_json(Some(&Value::Array(groups.clone())), ip.as_ref());
        prop_assert!(rank(before.role) <= rank(before.group_role));
        if restriction {
            prop_assert!(rank(before.role) <= rank(before.ip_role));
        }

        let mut more = groups.clone();
        more.insert(position.index(more.len() + 1), extra);
        let after = p.decide_json(Some(&Value::Array(more)), ip.as_ref());
        prop_assert!(rank(after.role) <= rank(before.role), "{:?} → {:?}", before, after);

        let moved = p.decide_json(Some(&Value::Array(groups.clone())), Some(&outside));
        prop_assert!(rank(moved.role) <= rank(before.role), "{:?} → {:?}", before, moved);
        if restriction {
            prop_assert_eq!(moved.role, Role::Readonly);
        }
    }

    #[test]
    fn any_group_added_raises_the_role_at_most_to_its_own(
        groups in prop::collection::vec(pool_group(), 0..5),
        extra in pool_group(),
        ip in pool_ip(),
        restriction in any::<bool>(),
    ) {
        let p = policy(restriction);
        let before = p.decide_json(Some(&Value::Array(groups.clone())), ip.as_ref());
        let alone = p.decide_json(Some(&Value::Array(vec![extra.clone()])), ip.as_ref());
        let mut more = groups;
        more.push(extra);
        let after = p.decide_json(Some(&Value::Array(more)), ip.as_ref());
        prop_assert!(rank(after.role) <= rank(before.role).max(rank(alone.role)));
    }
}
