//! Who is asking, and from where: a caller's IAM groups (or assumed-role name) and source IP
//! become the masking view they may read. Every entry point that serves masked data to a person
//! (the data-masking Lambda, `logmask query`) decides through this crate.
//!
//! * **Group role.** Groups are names or IAM group ARNs; the standard names are
//!   `${PROJECT_CODE}-${ENVIRONMENT}-{admin|operator|readonly|monitoring}` (`monitoring` reads as
//!   readonly), more come from `GROUP_ROLE_MAP`. Several recognised groups give the most
//!   privileged role; none gives readonly. IAM names are case-insensitive, and so is the match.
//! * **IP role.** Admin and operator CIDR tables (IPv4 and IPv6); an IPv4-mapped IPv6 address is
//!   matched as its IPv4. Outside every range: readonly.
//! * **Restriction.** With IP restriction on, the effective role is the *least* privileged of
//!   the two; off, the group role alone.
//! * **Fail closed.** A missing, empty or malformed group list or address (a number, a list, a
//!   padded or out-of-range string, a CIDR where an address belongs) gives readonly for its part,
//!   and the [`Decision`] says why. A malformed table in the configuration is an error at start.
//!
//! # Example
//!
//! ```
//! use logmask_access::{AccessPolicy, GroupTable, IpTable};
//! use logmask_mask::Role;
//! use serde_json::json;
//!
//! let policy = AccessPolicy {
//!     groups: GroupTable::standard("ses-migration", "production"),
//!     ips: IpTable::parse("10.0.0.0/8", "192.168.100.0/24").unwrap(),
//!     ip_restriction: true,
//! };
//! let admin = json!(["ses-migration-production-admin"]);
//! let d = policy.decide_json(Some(&admin), Some(&json!("192.168.100.7")));
//! assert_eq!((d.role, d.group_role, d.ip_role), (Role::Operator, Role::Admin, Role::Operator));
//! // A mapped IPv6 address is its IPv4; a malformed one is readonly.
//! assert_eq!(policy.decide_json(Some(&admin), Some(&json!("::ffff:10.1.2.3"))).role, Role::Admin);
//! assert_eq!(policy.decide_json(Some(&admin), Some(&json!("10.0.0.300"))).role, Role::Readonly);
//! ```
#![deny(missing_docs)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

pub use ipnet::IpNet;
use logmask_mask::Role;
use serde::Serialize;
use serde_json::Value;

/// Configuration that cannot be used: the function must not start with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// A CIDR table entry that is not a network (`10.0.0.0/8`, `2001:db8::/32`).
    #[error("{setting}: {entry:?} is not a CIDR network ({message})")]
    Cidr {
        /// The setting (`ADMIN_IP_RANGES`, `OPERATOR_IP_RANGES`, `--admin-cidr`…).
        setting: String,
        /// The offending entry.
        entry: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `group=role` entry that cannot be read.
    #[error("GROUP_ROLE_MAP: {entry:?} {message}")]
    GroupMap {
        /// The offending entry.
        entry: String,
        /// What is wrong with it.
        message: String,
    },
    /// Any other setting with a value outside its domain.
    #[error("{setting}: {message}")]
    Invalid {
        /// The setting.
        setting: String,
        /// What is allowed.
        message: String,
    },
}

/// Privilege order: admin 2, operator 1, readonly 0.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Admin => 2,
        Role::Operator => 1,
        Role::Readonly => 0,
    }
}

/// The more privileged of two roles.
pub fn most_privileged(a: Role, b: Role) -> Role {
    if rank(a) >= rank(b) { a } else { b }
}

/// The less privileged of two roles.
pub fn least_privileged(a: Role, b: Role) -> Role {
    if rank(a) <= rank(b) { a } else { b }
}

/// Reads a role name as written in group tables and settings; `monitoring` is readonly.
pub fn parse_role(text: &str) -> Option<Role> {
    match text {
        "admin" => Some(Role::Admin),
        "operator" => Some(Role::Operator),
        "readonly" | "monitoring" => Some(Role::Readonly),
        _ => None,
    }
}

/// Group (or role) name → reader role. Keys are stored lower-case: IAM does not tell names
/// apart by case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTable {
    map: HashMap<String, Role>,
}

impl GroupTable {
    /// The standard names `${project}-${environment}-{admin|operator|readonly|monitoring}`.
    pub fn standard(project_code: &str, environment: &str) -> GroupTable {
        let mut table = GroupTable::default();
        for (suffix, role) in [
            ("admin", Role::Admin),
            ("operator", Role::Operator),
            ("readonly", Role::Readonly),
            ("monitoring", Role::Readonly),
        ] {
            table.insert(&format!("{project_code}-{environment}-{suffix}"), role);
        }
        table
    }

    /// Adds or replaces one entry.
    pub fn insert(&mut self, name: &str, role: Role) {
        self.map.insert(name.to_ascii_lowercase(), role);
    }

    /// Adds the entries of a `GROUP_ROLE_MAP` value: `group=role,group=role` (names or group
    /// ARNs; roles admin, operator, readonly, monitoring). Blank values add nothing.
    pub fn extend_from_spec(&mut self, spec: &str) -> Result<(), AccessError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let err = |message: &str| AccessError::GroupMap { entry: entry.to_owned(), message: message.to_owned() };
            let (group, role) = entry.split_once('=').ok_or_else(|| err("is not group=role"))?;
            let name = group_name(group.trim()).ok_or_else(|| err("does not name an IAM group or role"))?;
            let role =
                parse_role(role.trim()).ok_or_else(|| err("role must be admin, operator, readonly or monitoring"))?;
            self.insert(name, role);
        }
        Ok(())
    }

    /// The role of one group name (not an ARN), if the table knows it.
    pub fn role_of(&self, name: &str) -> Option<Role> {
        self.map.get(&name.to_ascii_lowercase()).copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Whether `name` is an IAM name: 1–128 of `[A-Za-z0-9+=,.@_-]`.
fn is_iam_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The group name of `text`: the text itself when it is an IAM name, the last path segment of an
/// IAM group ARN (`arn:aws:iam::123456789012:group/path/NAME`), else `None`.
pub fn group_name(text: &str) -> Option<&str> {
    if is_iam_name(text) {
        return Some(text);
    }
    let resource = iam_resource(text, "iam")?;
    let path = resource.strip_prefix("group/")?;
    iam_path_name(path)
}

/// `arn:<partition>:<service>::<12 digits>:<resource>` → resource.
fn iam_resource<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, partition, svc, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let partition_ok = partition.starts_with("aws") && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (scheme == "arn" && partition_ok && svc == service && region.is_empty() && account_ok).then_some(resource)
}

/// `path/NAME` (path segments optional) → NAME, every segment an IAM name.
fn iam_path_name(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    let name = segments.next_back()?;
    (segments.all(is_iam_name) && is_iam_name(name)).then_some(name)
}

/// Who signed a request, from its IAM ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM user (`arn:aws:iam::123456789012:user/path/NAME`): look up its groups.
    User {
        /// The user name (for `ListGroupsForUser`).
        name: String,
    },
    /// An assumed role (`arn:aws:sts::123456789012:assumed-role/NAME/session`, e.g. SSO):
    /// mapped by role name through the group table.
    AssumedRole {
        /// The role name.
        role_name: String,
    },
    /// Anything else (root, a federated user, a malformed ARN): no groups, readonly.
    Other,
}

impl Principal {
    /// Reads an ARN; whatever is not a well-formed user or assumed-role ARN is [`Principal::Other`].
    pub fn from_arn(arn: &str) -> Principal {
        if let Some(path) = iam_resource(arn, "iam").and_then(|r| r.strip_prefix("user/"))
            && let Some(name) = iam_path_name(path)
        {
            return Principal::User { name: name.to_owned() };
        }
        if let Some(rest) = iam_resource(arn, "sts").and_then(|r| r.strip_prefix("assumed-role/"))
            && let Some((role, session)) = rest.split_once('/')
            && is_iam_name(role)
            && !session.is_empty()
            && session.len() <= 64
            && session.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            return Principal::AssumedRole { role_name: role.to_owned() };
        }
        Principal::Other
    }
}

/// Admin and operator source networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpTable {
    admin: Vec<IpNet>,
    operator: Vec<IpNet>,
}

impl IpTable {
    /// Comma-separated CIDR lists (`ADMIN_IP_RANGES`, `OPERATOR_IP_RANGES`); blank means none.
    pub fn parse(admin: &str, operator: &str) -> Result<IpTable, AccessError> {
        Ok(IpTable {
            admin: parse_cidrs("ADMIN_IP_RANGES", admin)?,
            operator: parse_cidrs("OPERATOR_IP_RANGES", operator)?,
        })
    }

    /// A table from lists already split (CLI flags), `setting` naming them in errors.
    pub fn from_lists(admin: &[String], operator: &[String]) -> Result<IpTable, AccessError> {
        let parse =
            |setting: &str, list: &[String]| list.iter().map(|c| parse_cidr(setting, c)).collect::<Result<Vec<_>, _>>();
        Ok(IpTable { admin: parse("--admin-cidr", admin)?, operator: parse("--operator-cidr", operator)? })
    }

    /// The admin networks.
    pub fn admin(&self) -> &[IpNet] {
        &self.admin
    }

    /// The operator networks.
    pub fn operator(&self) -> &[IpNet] {
        &self.operator
    }

    /// The role of an address: admin ranges first, then operator, else readonly.
    pub fn role_of(&self, ip: IpAddr) -> Role {
        let ip = canonical(ip);
        if self.admin.iter().any(|n| n.contains(&ip)) {
            Role::Admin
        } else if self.operator.iter().any(|n| n.contains(&ip)) {
            Role::Operator
        } else {
            Role::Readonly
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_cidrs(setting: &str, list: &str) -> Result<Vec<IpNet>, AccessError> {
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(|e| parse_cidr(setting, e)).collect()
}

fn parse_cidr(setting: &str, entry: &str) -> Result<IpNet, AccessError> {
    let err = |message: &str| AccessError::Cidr {
        setting: setting.to_owned(),
        entry: entry.to_owned(),
        message: message.to_owned(),
    };
    let net = IpNet::from_str(entry.trim()).map_err(|_| err("expected address/prefix, e.g. 10.0.0.0/8"))?;
    // 10.0.0.1/8 is most likely a typo for a host or for 10.0.0.0/8; guessing either could
    // widen access, so it is refused.
    if net.addr() != net.network() {
        return Err(err(&format!("host bits are set; the network is {}", net.trunc())));
    }
    if let IpNet::V6(v6) = net
        && v6.network().to_ipv4_mapped().is_some()
    {
        return Err(err("write IPv4-mapped ranges as IPv4; mapped addresses are matched as IPv4"));
    }
    Ok(net)
}

/// Why a part of the decision is readonly when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Note {
    /// No group list was given.
    GroupsMissing,
    /// The group list is not a list of IAM names / group ARNs (or holds an empty or padded entry).
    GroupsMalformed,
    /// No group in the list is in the table.
    NoRecognisedGroup,
    /// No source address was given.
    SourceIpMissing,
    /// The source address is not exactly an IPv4 or IPv6 address.
    SourceIpMalformed,
    /// The address is outside every configured range.
    SourceIpOutsideRanges,
}

/// The role a caller gets, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The effective role: the view the caller reads.
    pub role: Role,
    /// The role of the groups alone.
    pub group_role: Role,
    /// The role of the source address alone.
    pub ip_role: Role,
    /// Whether the address restricted the group role.
    pub ip_restriction: bool,
    /// What was missing, malformed or unrecognised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// The role of a group list given as JSON.
pub enum Groups<'a> {
    /// No list.
    Missing,
    /// Something that is not a list of names (any malformed entry spoils the list: the caller
    /// gets readonly, never the role of the entries that happened to parse).
    Malformed,
    /// Group names (ARNs already reduced to names).
    Names(Vec<&'a str>),
}

impl<'a> Groups<'a> {
    /// A JSON value expected to be an array of strings, each an IAM group name or group ARN.
    pub fn from_json(value: Option<&'a Value>) -> Groups<'a> {
        match value {
            None | Some(Value::Null) => Groups::Missing,
            Some(Value::Array(items)) => {
                let names: Option<Vec<&str>> = items.iter().map(|v| v.as_str().and_then(group_name)).collect();
                names.map_or(Groups::Malformed, Groups::Names)
            }
            Some(_) => Groups::Malformed,
        }
    }

    /// Names from a trusted source (IAM `ListGroupsForUser`, an assumed role's name), checked
    /// the same way.
    pub fn from_names<I: IntoIterator<Item = &'a str>>(names: I) -> Groups<'a> {
        let names: Option<Vec<&str>> = names.into_iter().map(group_name).collect();
        names.map_or(Groups::Malformed, Groups::Names)
    }
}

/// A source address as given.
pub enum SourceIp {
    /// None given.
    Missing,
    /// Not exactly an address.
    Malformed,
    /// An address.
    Addr(IpAddr),
}

impl SourceIp {
    /// Exactly an IPv4 or IPv6 address: no padding, no port, no prefix, no zone.
    pub fn from_str_exact(text: &str) -> SourceIp {
        IpAddr::from_str(text).map_or(SourceIp::Malformed, SourceIp::Addr)
    }

    /// A JSON value expected to be a string holding exactly an address.
    pub fn from_json(value: Option<&Value>) -> SourceIp {
        match value {
            None | Some(Value::Null) => SourceIp::Missing,
            Some(Value::String(s)) => SourceIp::from_str_exact(s),
            Some(_) => SourceIp::Malformed,
        }
    }
}

/// Groups, networks and whether the network restricts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Group and role names.
    pub groups: GroupTable,
    /// Admin and operator networks.
    pub ips: IpTable,
    /// `ENABLE_IP_RESTRICTION`.
    pub ip_restriction: bool,
}

impl AccessPolicy {
    /// The role of a group list; notes say why it is readonly when it is for lack of input.
    pub fn group_role(&self, groups: &Groups<'_>, notes: &mut Vec<Note>) -> Role {
        match groups {
            Groups::Missing => {
                notes.push(Note::GroupsMissing);
                Role::Readonly
            }
            Groups::Malformed => {
                notes.push(Note::GroupsMalformed);
                Role::Readonly
            }
            Groups::Names(names) => {
                let best = names.iter().filter_map(|n| self.groups.role_of(n)).max_by_key(|r| rank(*r));
                best.unwrap_or_else(|| {
                    notes.push(Note::NoRecognisedGroup);
                    Role::Readonly
                })
            }
        }
    }

    /// The role of a source address.
    pub fn ip_role(&self, ip: &SourceIp, notes: &mut Vec<Note>) -> Role {
        match ip {
            SourceIp::Missing => {
                notes.push(Note::SourceIpMissing);
                Role::Readonly
            }
            SourceIp::Malformed => {
                notes.push(Note::SourceIpMalformed);
                Role::Readonly
            }
            SourceIp::Addr(addr) => {
                let role = self.ips.role_of(*addr);
                if role == Role::Readonly {
                    notes.push(Note::SourceIpOutsideRanges);
                }
                role
            }
        }
    }

    /// The decision for a caller.
    pub fn decide(&self, groups: &Groups<'_>, ip: &SourceIp) -> Decision {
        let mut notes = Vec::new();
        let group_role = self.group_role(groups, &mut notes);
        let ip_role = self.ip_role(ip, &mut notes);
        let role = if self.ip_restriction { least_privileged(group_role, ip_role) } else { group_role };
        Decision { role, group_role, ip_role, ip_restriction: self.ip_restriction, notes }
    }

    /// [`AccessPolicy::decide`] on JSON values (`userGroups`, `sourceIp` of a payload).
    pub fn decide_json(&self, groups: Option<&Value>, ip: Option<&Value>) -> Decision {
        self.decide(&Groups::from_json(groups), &SourceIp::from_json(ip))
    }
}

/// The environment variables [`AccessPolicy::from_lookup`] reads.
pub const ENV_VARS: &[&str] = &[
    "PROJECT_CODE",
    "ENVIRONMENT",
    "GROUP_ROLE_MAP",
    "ENABLE_IP_RESTRICTION",
    "ADMIN_IP_RANGES",
    "OPERATOR_IP_RANGES",
];

impl AccessPolicy {
    /// From settings: `PROJECT_CODE` and `ENVIRONMENT` (defaults `ses-migration`, `production`)
    /// name the standard groups, `GROUP_ROLE_MAP` adds entries, `ENABLE_IP_RESTRICTION`
    /// (`true`/`false`, default `true`: the production setting, and the closed one),
    /// `ADMIN_IP_RANGES` and `OPERATOR_IP_RANGES` (comma-separated CIDRs, default none).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AccessPolicy, AccessError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let project = get("PROJECT_CODE").unwrap_or_else(|| "ses-migration".to_owned());
        let environment = get("ENVIRONMENT").unwrap_or_else(|| "production".to_owned());
        let mut groups = GroupTable::standard(&project, &environment);
        if let Some(spec) = get("GROUP_ROLE_MAP") {
            groups.extend_from_spec(&spec)?;
        }
        let ip_restriction = match get("ENABLE_IP_RESTRICTION").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => {
                return Err(AccessError::Invalid {
                    setting: "ENABLE_IP_RESTRICTION".to_owned(),
                    message: "must be true or false".to_owned(),
                });
            }
        };
        let ips = IpTable::parse(
            get("ADMIN_IP_RANGES").as_deref().unwrap_or(""),
            get("OPERATOR_IP_RANGES").as_deref().unwrap_or(""),
        )?;
        Ok(AccessPolicy { groups, ips, ip_restriction })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn group_names_and_arns() {
        assert_eq!(group_name("ses-migration-production-admin"), Some("ses-migration-production-admin"));
        assert_eq!(group_name("arn:aws:iam::123456789012:group/ops/team/NAME"), Some("NAME"));
        assert_eq!(group_name("arn:aws:iam::123456789012:group/NAME"), Some("NAME"));
        assert_eq!(group_name("arn:aws-cn:iam::123456789012:group/NAME"), Some("NAME"));
        for bad in [
            "",
            " admin",
            "admin ",
            "a/b",
            "arn:aws:iam::12345678901:group/NAME",
            "arn:aws:iam:us-east-1:123456789012:group/NAME",
            "arn:aws:iam::123456789012:user/NAME",
            "arn:aws:iam::123456789012:group/",
            "arn:aws:iam::123456789012:group//NAME",
            "arn:aws:s3::123456789012:group/NAME",
            "arn:aws:iam::123456789012:group/NA ME",
        ] {
            assert_eq!(group_name(bad), None, "{bad:?}");
        }
        assert_eq!(group_name(&"a".repeat(129)), None);
    }

    #[test]
    fn principals() {
        assert_eq!(
            Principal::from_arn("arn:aws:iam::123456789012:user/dev/alice"),
            Principal::User { name: "alice".into() }
        );
        assert_eq!(
            Principal::from_arn("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Ops_0123abcd/alice@example.jp"),
            Principal::AssumedRole { role_name: "AWSReservedSSO_Ops_0123abcd".into() }
        );
        for other in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:sts::123456789012:assumed-role/NoSession",
            "arn:aws:sts::123456789012:assumed-role/R/",
            "arn:aws:iam::123456789012:user/",
            "not an arn",
            "",
        ] {
            assert_eq!(Principal::from_arn(other), Principal::Other, "{other:?}");
        }
    }

    #[test]
    fn group_map_spec() {
        let mut t = GroupTable::standard("p", "e");
        assert_eq!(t.len(), 4);
        t.extend_from_spec(
            " sec-auditors=operator , arn:aws:iam::123456789012:group/x/Leads=admin,p-e-admin=readonly,",
        )
        .unwrap();
        assert_eq!(t.role_of("SEC-AUDITORS"), Some(Role::Operator));
        assert_eq!(t.role_of("leads"), Some(Role::Admin));
        assert_eq!(t.role_of("p-e-admin"), Some(Role::Readonly), "the map may demote a standard name");
        assert_eq!(t.role_of("p-e-monitoring"), Some(Role::Readonly));
        for bad in ["x", "x=root", "=admin", "a b=admin", "x=admin=y"] {
            let err = GroupTable::default().extend_from_spec(bad).unwrap_err();
            assert!(err.to_string().starts_with("GROUP_ROLE_MAP:"), "{err}");
        }
    }

    #[test]
    fn cidr_tables_refuse_what_they_cannot_mean() {
        let t = IpTable::parse("10.0.0.0/8, 2001:db8:a::/48", "192.168.100.0/24,fd00::/8").unwrap();
        assert_eq!(t.admin().len(), 2);
        for bad in ["10.0.0.1/8", "10.0.0.0", "10.0.0.0/33", "10.0.0.300/8", "example", "::ffff:10.0.0.0/104", "10/8"] {
            let err = IpTable::parse(bad, "").unwrap_err();
            assert!(matches!(&err, AccessError::Cidr { setting, .. } if setting == "ADMIN_IP_RANGES"), "{bad}: {err}");
            let err = IpTable::parse("", &format!("192.168.100.0/24,{bad}")).unwrap_err();
            assert!(err.to_string().starts_with("OPERATOR_IP_RANGES:"), "{bad}: {err}");
        }
        assert!(IpTable::parse("", "").unwrap().admin().is_empty());
        let err = IpTable::from_lists(&["10.0.0.0/8".into()], &["nope".into()]).unwrap_err();
        assert!(err.to_string().starts_with("--operator-cidr:"), "{err}");
    }

    #[test]
    fn from_lookup_reads_exactly_env_vars_and_fails_at_start_on_bad_values() {
        let read = RefCell::new(Vec::new());
        let values = [
            ("PROJECT_CODE", "ses-migration"),
            ("ENVIRONMENT", "production"),
            ("GROUP_ROLE_MAP", "auditors=operator"),
            ("ENABLE_IP_RESTRICTION", "TRUE"),
            ("ADMIN_IP_RANGES", "10.0.0.0/8"),
            ("OPERATOR_IP_RANGES", "192.168.100.0/24"),
        ];
        let p = AccessPolicy::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            values.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
        .unwrap();
        let mut names = read.into_inner();
        names.sort();
        names.dedup();
        let mut want: Vec<String> = ENV_VARS.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(names, want);
        assert!(p.ip_restriction);
        assert_eq!(p.groups.role_of("auditors"), Some(Role::Operator));

        let defaults = AccessPolicy::from_lookup(|_| None).unwrap();
        assert!(defaults.ip_restriction, "restriction is on unless turned off");
        assert_eq!(defaults.groups.role_of("ses-migration-production-admin"), Some(Role::Admin));
        assert!(defaults.ips.admin().is_empty());

        for (name, value) in [
            ("ENABLE_IP_RESTRICTION", "yes"),
            ("ADMIN_IP_RANGES", "10.0.0.0/8,10.0.0.300/32"),
            ("OPERATOR_IP_RANGES", "192.168.100.1/24"),
            ("GROUP_ROLE_MAP", "ops=superuser"),
        ] {
            let err = AccessPolicy::from_lookup(|k| (k == name).then(|| value.to_owned())).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }
}
