//! Staffing check of the consultation-support centers (人員体制), from the people's roles in
//! the master data. Kumamoto's contract (`DOMAIN.md`, source 004):
//! 「各センターに地域支援員を1名ずつ配置」「相談員の配置ができない場合は減算扱いとなる
//! （機能強化員、地域支援員は必置）」. So each 障害者相談支援センター needs a 機能強化員 and a
//! 地域支援員 (mandatory: the center cannot do its duties without them), and should have a
//! 相談員 (without one the commission is reduced). Pure: the store lists, this checks.

use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::Msg;
use crate::master::{OrgKind, Organisation, Person};

/// One role a center needs.
struct Rule {
    role: &'static str,
    /// Mandatory (必置) rather than expected (減算).
    mandatory: bool,
}

const CENTER_RULES: [Rule; 3] = [
    Rule {
        role: "機能強化員",
        mandatory: true,
    },
    Rule {
        role: "地域支援員",
        mandatory: true,
    },
    Rule {
        role: "相談員",
        mandatory: false,
    },
];

/// A center and how many people hold each role there.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CenterStaffing {
    pub organisation_id: i64,
    pub code: String,
    pub name: String,
    pub ward: String,
    /// (role, people holding it), in the order of the rules.
    pub roles: Vec<RoleCount>,
    /// What is missing, worst first; empty when the center is fully staffed.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RoleCount {
    pub role: String,
    pub people: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Finding {
    /// `mandatory` (必置の欠員) or `reduction` (減算の対象).
    pub severity: String,
    pub role: String,
    pub message: Msg,
}

/// The centers of municipality `m`, checked.
pub async fn of(
    db: &crate::store::Db,
    m: crate::store::tenancy::MunicipalityId,
) -> crate::error::Result<Vec<CenterStaffing>> {
    use crate::master::MasterKind;
    use crate::store::master::Record;
    let organisations: Vec<Organisation> = db
        .list_records(m, MasterKind::Organisations, "")
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Organisation(o) => Some(o),
            _ => None,
        })
        .collect();
    let people: Vec<Person> = db
        .list_records(m, MasterKind::People, "")
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Person(p) => Some(p),
            _ => None,
        })
        .collect();
    Ok(check(&organisations, &people))
}

/// Every consultation-support center (委託相談) with its roles and what is missing.
pub fn check(organisations: &[Organisation], people: &[Person]) -> Vec<CenterStaffing> {
    organisations
        .iter()
        .filter(|o| o.kind == OrgKind::ConsultationCenter)
        .map(|o| {
            let staff: Vec<&Person> = people
                .iter()
                // An external lecturer or supervisor is not the center's staff.
                .filter(|p| p.organisation_id == Some(o.id) && !p.external)
                .collect();
            let mut roles = Vec::new();
            let mut findings = Vec::new();
            for rule in &CENTER_RULES {
                let n = staff
                    .iter()
                    .filter(|p| p.roles.iter().any(|r| r == rule.role))
                    .count();
                roles.push(RoleCount {
                    role: rule.role.to_string(),
                    people: n,
                });
                if n > 0 {
                    continue;
                }
                let role = rule.role;
                let name = &o.name;
                findings.push(if rule.mandatory {
                    Finding {
                        severity: "mandatory".into(),
                        role: role.into(),
                        message: Msg::new(
                            format!("{name}に{role}がいません（必置）。職員の役割に「{role}」を登録してください"),
                            format!("{name} has no {role} (mandatory); give a staff member the role \"{role}\""),
                        ),
                    }
                } else {
                    Finding {
                        severity: "reduction".into(),
                        role: role.into(),
                        message: Msg::new(
                            format!("{name}に{role}がいません（配置できない場合は減算扱い）"),
                            format!("{name} has no {role} (the commission is reduced without one)"),
                        ),
                    }
                });
            }
            findings.sort_by_key(|f| f.severity != "mandatory");
            CenterStaffing {
                organisation_id: o.id,
                code: o.code.clone(),
                name: o.name.clone(),
                ward: o.ward.clone(),
                roles,
                findings,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn center(id: i64, name: &str) -> Organisation {
        Organisation {
            id,
            code: format!("C-{id}"),
            name: name.into(),
            kana: String::new(),
            kind: OrgKind::ConsultationCenter,
            ward: "西区".into(),
            address: String::new(),
            phone: String::new(),
            email: String::new(),
        }
    }

    fn person(id: i64, org: i64, roles: &[&str]) -> Person {
        Person {
            id,
            code: format!("P-{id}"),
            name: format!("職員 {id}"),
            kana: String::new(),
            email: String::new(),
            organisation_id: Some(org),
            organisation_code: None,
            organisation_name: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            qualifications: Vec::new(),
            part_time_days: Vec::new(),
            working_hours: String::new(),
            max_meetings_per_day: None,
            max_hours_per_day: None,
            external: false,
            availability: String::new(),
        }
    }

    /// 「相談員の配置ができない場合は減算扱いとなる（機能強化員、地域支援員は必置）」
    #[test]
    fn a_missing_mandatory_role_comes_first_and_a_missing_soudanin_is_a_reduction() {
        let orgs = [center(1, "センターA"), center(2, "センターB")];
        let people = [
            person(10, 1, &["機能強化員"]),
            person(11, 1, &["地域支援員"]),
            person(12, 1, &["相談員"]),
            person(13, 1, &["相談員"]),
            person(20, 2, &["相談員"]),
            person(21, 2, &["機能強化員"]),
        ];
        let out = check(&orgs, &people);
        assert_eq!(out.len(), 2);
        assert!(out[0].findings.is_empty(), "{:?}", out[0].findings);
        assert_eq!(out[0].roles[2].people, 2);
        assert_eq!(out[1].findings.len(), 1);
        assert_eq!(out[1].findings[0].severity, "mandatory");
        assert_eq!(out[1].findings[0].role, "地域支援員");
        let only_kyoka = [person(30, 2, &["機能強化員", "地域支援員"])];
        let out = check(&orgs[1..], &only_kyoka);
        assert_eq!(out[0].findings[0].severity, "reduction");
        assert!(out[0].findings[0].message.ja.contains("減算"));
    }
}
