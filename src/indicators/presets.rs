//! Indicator presets with the targets of the source documents (`DOMAIN.md`): Hiratsuka's table
//! of activity indicators exactly, and Kumamoto's and Meguro's cadences as indicators. They
//! name the series of the meeting presets ([`crate::meetings::presets`]) and meeting kinds.

use super::{IndicatorInput, Rule};
use crate::meetings::presets::Preset;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ind(code: &str, name: &str, name_en: &str, target: u32, rule: Rule) -> IndicatorInput {
    IndicatorInput {
        code: code.into(),
        name: name.into(),
        name_en: name_en.into(),
        target,
        rule,
    }
}

fn held(kinds: &[&str], series: &[&str]) -> Rule {
    Rule::Occurrences {
        kinds: strings(kinds),
        series: strings(series),
    }
}

/// The organisations that take part in a case review besides the core center that runs it.
const PARTICIPANTS: [&str; 8] = [
    "consultation_office",
    "consultation_center",
    "ward_section",
    "hospital",
    "hub",
    "short_stay",
    "group_home",
    "other",
];

/// The preset's indicators in the first contract year.
pub fn indicators(p: Preset) -> Vec<IndicatorInput> {
    indicators_in_year(p, 1)
}

/// The preset's indicators in contract year `year` (Meguro's change from the second year,
/// as its meeting series do: [`Preset::series_in_year`]).
pub fn indicators_in_year(p: Preset, year: u32) -> Vec<IndicatorInput> {
    match p {
        Preset::Hiratsuka => hiratsuka(),
        Preset::Kumamoto => kumamoto(),
        Preset::Meguro => meguro(year.max(1)),
        Preset::Sendai => sendai(),
    }
}

/// 平塚市 第7期障がい福祉計画 目標6 の活動指標 (FY2024-2026), in the order of the plan.
fn hiratsuka() -> Vec<IndicatorInput> {
    vec![
        ind(
            "VISITS",
            "地域の相談支援事業所に対する訪問等による専門的な指導・助言件数",
            "Visits with expert guidance to consultation offices",
            1,
            Rule::Coverage {
                kinds: strings(&["office_visit"]),
                series: Vec::new(),
                org_kinds: strings(&["consultation_office"]),
            },
        ),
        ind(
            "HR-SUPPORT",
            "地域の相談支援事業所の人材育成の支援件数",
            "Human-resource development support for consultation offices",
            1,
            held(&[], &["HR-SUPPORT"]),
        ),
        ind(
            "COOPERATION",
            "地域の相談機関との連携強化の取組の実施回数",
            "Initiatives strengthening cooperation with consultation bodies",
            1,
            held(&[], &["COOPERATION"]),
        ),
        ind(
            "VERIFICATIONS",
            "基幹相談支援センターによる個別事例の支援内容の検証の実施回数",
            "Verifications of individual cases by the core center",
            24,
            held(&["case_verification"], &[]),
        ),
        ind(
            "SENIOR-SPECIALISTS",
            "主任相談支援専門員の配置数",
            "Senior consultation specialists on staff",
            3,
            Rule::Staff {
                qualification: "主任相談支援専門員".into(),
                org_kinds: strings(&["core_center"]),
            },
        ),
        ind(
            "CASE-REVIEWS",
            "相談支援事業所の参画による事例検討実施回数",
            "Case reviews with consultation offices taking part",
            3,
            held(&[], &["OFFICE-CASE-REVIEW"]),
        ),
        ind(
            "PARTICIPANTS",
            "参加事業者・機関数",
            "Organisations taking part (case reviews)",
            18,
            Rule::Organisations {
                kinds: Vec::new(),
                series: strings(&["OFFICE-CASE-REVIEW"]),
                org_kinds: strings(&PARTICIPANTS),
            },
        ),
        ind(
            "SUBCOMMITTEES",
            "専門部会の設置数",
            "Subcommittees in existence",
            4,
            Rule::Bodies {
                kinds: strings(&["subcommittee"]),
                series: Vec::new(),
            },
        ),
        ind(
            "SUBCOMMITTEE-MEETINGS",
            "専門部会の実施回数",
            "Subcommittee meetings held",
            39,
            held(&["subcommittee"], &[]),
        ),
    ]
}

/// Kumamoto's cadences: plenary 3 a year (May, October, February), 4 subcommittees monthly,
/// ward network meetings at least 4 a year in each ward, monthly liaison meetings.
fn kumamoto() -> Vec<IndicatorInput> {
    vec![
        ind(
            "PLENARY",
            "自立支援協議会 本会議の開催回数",
            "Council plenary sessions",
            3,
            held(&["plenary"], &[]),
        ),
        ind(
            "SUBCOMMITTEE-MEETINGS",
            "専門部会の開催回数（4部会 毎月）",
            "Subcommittee meetings (4 subcommittees, monthly)",
            48,
            held(&["subcommittee"], &[]),
        ),
        ind(
            "WARD-NETWORK",
            "区障がい福祉ネットワーク会議（各区 年4回以上）",
            "Ward network meetings (at least 4 a year in each ward)",
            4,
            Rule::Wards {
                kinds: strings(&["ward_network"]),
                series: Vec::new(),
            },
        ),
        ind(
            "LIAISON-KYOKA",
            "相談支援機能強化員連絡会議の開催回数",
            "Liaison meetings of function-strengthening staff",
            12,
            held(&[], &["LIAISON-KYOKA"]),
        ),
        ind(
            "LIAISON-CHIIKI",
            "地域支援員会議の開催回数",
            "Meetings of community-support staff",
            12,
            held(&[], &["LIAISON-CHIIKI"]),
        ),
    ]
}

/// Meguro's duty table in contract year `year`.
fn meguro(year: u32) -> Vec<IndicatorInput> {
    let mut out = vec![
        if year == 1 {
            ind(
                "OPERATING",
                "基幹運営会議の開催回数（隔月）",
                "Operating meetings (every 2 months)",
                6,
                held(&[], &["OPERATING"]),
            )
        } else {
            ind(
                "OPERATING",
                "基幹運営会議の開催回数（年3回）",
                "Operating meetings (3 a year)",
                3,
                held(&[], &["OPERATING"]),
            )
        },
        ind(
            "TRAINING",
            "研修会の開催回数",
            "Trainings",
            2,
            held(&[], &["TRAINING"]),
        ),
        ind(
            "CASE-REVIEW",
            "事例検討会の開催回数",
            "Case reviews",
            2,
            held(&[], &["CASE-REVIEW"]),
        ),
        ind(
            "TRANSITION",
            "地域移行・地域定着連携連絡会の開催回数",
            "Community transition liaison meetings",
            3,
            held(&[], &["TRANSITION"]),
        ),
        ind(
            "ADVOCACY-TRAINING",
            "権利擁護研修の開催回数",
            "Rights-advocacy trainings",
            1,
            held(&[], &["ADVOCACY-TRAINING"]),
        ),
        ind(
            "LAWYER",
            "弁護士相談会の開催回数",
            "Consultation days with a lawyer",
            2,
            held(&[], &["LAWYER"]),
        ),
        ind(
            "ABUSE-PREVENTION",
            "虐待防止研修の開催回数",
            "Abuse-prevention trainings",
            1,
            held(&[], &["ABUSE-PREVENTION"]),
        ),
        if year == 1 {
            ind(
                "IDOBATA",
                "いどばた会議の開催回数（初年度 年2回）",
                "Peer gatherings (first year: 2)",
                2,
                held(&[], &["IDOBATA"]),
            )
        } else {
            ind(
                "IDOBATA",
                "いどばた会議の開催回数（毎月）",
                "Peer gatherings (monthly)",
                12,
                held(&[], &["IDOBATA"]),
            )
        },
        ind(
            "KIKAN-LIAISON",
            "基幹相談連絡会の開催回数",
            "Inter-municipal core center liaison meetings",
            4,
            held(&[], &["KIKAN-LIAISON"]),
        ),
    ];
    // 「各相談支援事業所…の訪問、意見交換」: each consultation office once a year.
    out.push(ind(
        "OFFICE-VISITS",
        "相談支援事業所の訪問・意見交換（各事業所年1回）",
        "Visits to consultation offices (each once a year)",
        1,
        Rule::Coverage {
            kinds: Vec::new(),
            series: strings(&["OFFICE-VISIT"]),
            org_kinds: strings(&["consultation_office"]),
        },
    ));
    // 相談支援従事者研修「5年目～ 年1回」.
    if year >= 5 {
        out.push(ind(
            "PRACTITIONER-TRAINING",
            "相談支援従事者研修の開催回数",
            "Practitioner trainings",
            1,
            held(&[], &["PRACTITIONER-TRAINING"]),
        ));
    }
    // 弁護士による相談会「2年目～ 年2回」.
    if year == 1 {
        out.retain(|i| i.code != "LAWYER");
    }
    out
}

/// Sendai (003), the community life support hub (地域生活支援拠点), over the series of the
/// Sendai meeting preset (`HUB-VISIT`, `HUB-REPORT`, `HUB-OPERATING`):
/// - 「② 拠点における緊急用居室における受入れ（受入れ件数 36件）」: 36 placements a year, counted
///   once each (a split stay is one); the report's number, kept as the year's expected volume.
/// - 「そのほとんどが、拠点における緊急用居室における受け入れとなっている」「地域の施設において
///   広く緊急受入れが行えるよう」: the share received in community facilities. The document
///   sets no number; 30 % is assumed as a first goal (the municipality types its own).
/// - 「① 短期入所事業所やグループホーム等の訪問（訪問事業所数 10事業所）」: 10 short-stay or
///   group-home organisations visited a year (distinct organisations, not visits).
/// - 「拠点実践報告会開催回数1回」: once a year.
/// - 「拠点運営会議を実施」: each quarter (assumed, as the series preset).
fn sendai() -> Vec<IndicatorInput> {
    use crate::indicators::PlacementPlace;
    use crate::meetings::presets::SENDAI_FACILITY_KINDS;
    vec![
        ind(
            "PLACEMENTS",
            "緊急受入れ件数",
            "Emergency placements",
            36,
            Rule::Placements {
                at: PlacementPlace::All,
            },
        ),
        ind(
            "COMMUNITY-SHARE",
            "地域の施設での受入れの割合",
            "Share of placements in community facilities",
            30,
            Rule::CommunityShare {},
        ),
        ind(
            "HUB-VISITS",
            "短期入所事業所やグループホーム等の訪問（訪問事業所数）",
            "Short-stay and group-home facilities visited",
            10,
            Rule::Visited {
                kinds: Vec::new(),
                series: strings(&["HUB-VISIT"]),
                org_kinds: strings(&SENDAI_FACILITY_KINDS),
            },
        ),
        ind(
            "HUB-REPORT",
            "拠点実践報告会の開催回数",
            "Hub practice report meetings",
            1,
            held(&[], &["HUB-REPORT"]),
        ),
        ind(
            "HUB-OPERATING",
            "拠点運営会議の開催回数（四半期ごと）",
            "Hub operating meetings (each quarter)",
            4,
            held(&[], &["HUB-OPERATING"]),
        ),
    ]
}

/// The demo's indicators: Hiratsuka's table (the demo plans Hiratsuka's series too) and
/// Kumamoto's ward network meetings per ward.
pub fn demo_indicators() -> Vec<IndicatorInput> {
    let mut out = hiratsuka();
    out.extend(kumamoto().into_iter().filter(|i| i.code == "WARD-NETWORK"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates() {
        for p in Preset::ALL {
            let list = indicators(p);
            super::super::parse_all(&list).unwrap_or_else(|e| panic!("{}: {e:?}", p.slug()));
        }
        super::super::parse_all(&demo_indicators()).unwrap();
    }

    #[test]
    fn hiratsuka_has_the_documents_targets() {
        let list = indicators(Preset::Hiratsuka);
        let targets: Vec<u32> = list.iter().map(|i| i.target).collect();
        // DOMAIN.md: 1 per office, 1, 1, 24, 3 seniors, 3 reviews, 18 organisations,
        // 4 subcommittees, 39 subcommittee meetings.
        assert_eq!(targets, [1, 1, 1, 24, 3, 3, 18, 4, 39]);
    }

    #[test]
    fn preset_series_codes_exist_in_the_meeting_presets() {
        for (p, year) in Preset::ALL
            .into_iter()
            .flat_map(|p| (1..=3).map(move |y| (p, y)))
        {
            let codes: Vec<String> = p.series_in_year(year).into_iter().map(|s| s.code).collect();
            for i in indicators_in_year(p, year) {
                for c in i.rule.scope().1 {
                    assert!(
                        codes.contains(c),
                        "{}: {} names unknown series {c}",
                        p.slug(),
                        i.code
                    );
                }
            }
        }
    }
}
