use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn org(id: i64, kind: &str, ward: &str) -> Org {
    Org {
        id,
        code: format!("O{id}"),
        name: format!("org {id}"),
        kind: kind.into(),
        ward: ward.into(),
    }
}

fn staff(id: i64, org: i64) -> Staff {
    Staff {
        id,
        code: format!("P{id:03}"),
        name: format!("person {id}"),
        email: format!("p{id}@example.jp"),
        organisation_id: Some(org),
        qualifications: if id == 1 {
            vec!["主任相談支援専門員".into()]
        } else {
            vec![]
        },
    }
}

fn occ(id: i64, code: &str, kind: MeetingKind, date: &str, invitees: &[(i64, i64, bool)]) -> Occ {
    Occ {
        id,
        series_id: id % 3,
        series_code: code.into(),
        key: code.into(),
        title: format!("{code} {id}"),
        kind,
        ward: String::new(),
        date: d(date),
        start: "10:00".into(),
        cancelled: false,
        place_organisation_id: None,
        capacity: Some(30),
        held_by_others: false,
        invitees: invitees
            .iter()
            .map(|(p, o, required)| Invitee {
                person_id: *p,
                organisation_id: Some(*o),
                required: *required,
                answer: None,
            })
            .collect(),
        record: None,
    }
}

/// FY2026 seen on 2026-10-01: a review held in June (2 came), one ahead in November, one in
/// February; organisations 10..=14 invited, with staff 1 (core) required.
fn data() -> Data {
    let mut orgs = vec![org(1, "core_center", "東区")];
    let mut people = vec![staff(1, 1)];
    for i in 10..=15 {
        orgs.push(org(
            i,
            "consultation_office",
            if i % 2 == 0 { "東区" } else { "西区" },
        ));
        people.push(staff(i, i));
    }
    let invited: Vec<(i64, i64, bool)> = std::iter::once((1, 1, true))
        .chain((10..=14).map(|i| (i, i, false)))
        .collect();
    let mut held = occ(1, "REVIEW", MeetingKind::CaseReview, "2026-06-10", &invited);
    held.record = Some(Record {
        outcome: "held".into(),
        reason: String::new(),
        minutes_url: String::new(),
        external_participants: 3,
        participants: vec![1, 10, 11],
        recorded_at: String::new(),
    });
    Data {
        fiscal_year: FiscalYear::new(2026).unwrap(),
        today: d("2026-10-01"),
        organisations: orgs,
        people,
        series: vec![],
        occurrences: vec![
            held,
            occ(2, "REVIEW", MeetingKind::CaseReview, "2026-11-10", &invited),
            occ(3, "REVIEW", MeetingKind::CaseReview, "2027-02-10", &invited),
            // Outside the fiscal year: never counted.
            occ(4, "REVIEW", MeetingKind::CaseReview, "2027-04-10", &invited),
        ],
        placements: vec![],
    }
}

fn def(code: &str, target: u32, rule: Rule) -> IndicatorInput {
    IndicatorInput {
        code: code.into(),
        name: code.into(),
        name_en: String::new(),
        target,
        rule,
    }
}

fn reviews() -> Rule {
    Rule::Occurrences {
        kinds: vec![],
        series: vec!["REVIEW".into()],
    }
}

fn participants() -> Rule {
    Rule::Organisations {
        kinds: vec!["case_review".into()],
        series: vec![],
        org_kinds: vec!["consultation_office".into()],
    }
}

#[test]
fn four_figures_of_a_count() {
    let f = &evaluate(&[def("R", 3, reviews())], &data())[0];
    assert_eq!((f.target, f.planned, f.expected, f.actual), (3, 3, 3, 1));
    assert_eq!(f.standing, Standing::OnTrack);
    assert_eq!(f.occurrences, [1, 2, 3]);
}

#[test]
fn a_required_decline_lowers_expected_and_a_replan_is_proposed() {
    let mut data = data();
    data.occurrences[1].invitees[0].answer = Some("decline".into());
    let defs = [def("R", 3, reviews())];
    let f = evaluate(&defs, &data);
    assert_eq!((f[0].planned, f[0].expected), (3, 2));
    assert_eq!(f[0].standing, Standing::AtRisk);
    let p = proposals(&defs, &f, &data);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].action,
        Action::Replan {
            from: d("2026-10-02"),
            to: d("2027-03-31")
        }
    );
    // The re-plan asks the optimizer for what is missing after what is held or expected
    // outside the period: held in June, and (the decline) not November.
    let t = plan_targets(&defs, &data, d("2026-10-02"), d("2027-03-31"));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].min, 2, "3 minus the one held in June");
}

#[test]
fn organisations_taking_part_and_invitations_to_restore_them() {
    let mut data = data();
    let defs = [def("P", 5, participants())];
    let f = evaluate(&defs, &data);
    // Invited: 10..=14 (5); held: 10, 11 came. An invitation is not participation
    // (Hiratsuka (000): 参加事業者・機関数「18以上」): the plan counts those who came.
    assert_eq!((f[0].planned, f[0].expected, f[0].actual), (2, 2, 2));
    assert_eq!(f[0].confirmed, Some(2));
    // 12 says it comes to November's review: planned, expected and confirmed.
    let mut answered = data.clone();
    for i in &mut answered.occurrences[1].invitees {
        if i.person_id == 12 {
            i.answer = Some("attend".into());
        }
    }
    let g = evaluate(&defs, &answered);
    assert_eq!(
        (g[0].planned, g[0].expected, g[0].confirmed),
        (3, 3, Some(3))
    );
    // 12, 13 and 14 decline both remaining reviews: expected 2 (those who came in June).
    for o in &mut data.occurrences[1..3] {
        for i in &mut o.invitees {
            if (12..=14).contains(&i.person_id) {
                i.answer = Some("decline".into());
            }
        }
    }
    let f = evaluate(&defs, &data);
    assert_eq!(f[0].expected, 2);
    assert_eq!(f[0].standing, Standing::Short);
    let missing: Vec<i64> = f[0].missing.iter().map(|m| m.id).collect();
    assert_eq!(missing, [12, 13, 14]);
    let p = proposals(&defs, &f, &data);
    // Only organisation 15 has never been invited; it is invited to the November review.
    assert_eq!(
        p[0].action,
        Action::Invite {
            occurrence_id: 2,
            people: vec![15]
        }
    );
    assert!(p[0].text.ja.contains("org 15"), "{}", p[0].text.ja);
}

#[test]
fn coverage_counts_visited_organisations() {
    let mut data = data();
    let mut v = occ(
        10,
        "VISIT",
        MeetingKind::OfficeVisit,
        "2026-12-01",
        &[(1, 1, true)],
    );
    v.place_organisation_id = Some(10);
    data.occurrences.push(v);
    let rule = Rule::Coverage {
        kinds: vec!["office_visit".into()],
        series: vec![],
        org_kinds: vec!["consultation_office".into()],
    };
    let defs = [def("V", 1, rule)];
    let f = evaluate(&defs, &data);
    // Six offices to reach; the visit reaches office 10 (and the core's staff is no office).
    assert_eq!((f[0].target, f[0].planned, f[0].actual), (6, 1, 0));
    assert_eq!(f[0].missing.len(), 5);
    assert_eq!(f[0].standing, Standing::Short);
    let t = plan_targets(&defs, &data, d("2026-10-02"), d("2027-03-31"));
    assert_eq!(t.len(), 6, "every office needs its visit in the period");
    assert_eq!(t[0].place_organisation_ids, [10]);
}

#[test]
fn staff_and_bodies() {
    let data = data();
    let staff = def(
        "S",
        3,
        Rule::Staff {
            qualification: "主任相談支援専門員".into(),
            org_kinds: vec!["core_center".into()],
        },
    );
    let bodies = def(
        "B",
        2,
        Rule::Bodies {
            kinds: vec!["case_review".into()],
            series: vec![],
        },
    );
    let f = evaluate(&[staff.clone(), bodies], &data);
    assert_eq!(
        (f[0].planned, f[0].actual, f[0].standing),
        (1, 1, Standing::Short)
    );
    // Occurrences 1..=3 belong to series ids 1, 2, 0: three bodies meet.
    assert_eq!(f[1].planned, 3);
    let p = proposals(&[staff], &f[..1], &data);
    assert!(p[0].text.en.contains("staffing cannot be planned"));
}

#[test]
fn cancelled_and_not_held_count_nowhere_but_the_plan_of_not_held() {
    let mut data = data();
    data.occurrences[1].cancelled = true;
    data.occurrences[2].date = d("2026-09-01");
    data.occurrences[2].record = Some(Record {
        outcome: "not_held".into(),
        reason: "台風".into(),
        minutes_url: String::new(),
        external_participants: 0,
        participants: vec![],
        recorded_at: String::new(),
    });
    let f = &evaluate(&[def("R", 3, reviews())], &data)[0];
    assert_eq!((f.planned, f.expected, f.actual), (2, 1, 1));
}

#[test]
fn an_unrecorded_past_meeting_stays_expected_and_is_flagged() {
    let mut data = data();
    data.occurrences[1].date = d("2026-09-20");
    let f = &evaluate(&[def("R", 3, reviews())], &data)[0];
    assert_eq!((f.expected, f.actual, f.unrecorded), (3, 1, 1));
}

#[test]
fn rules_are_checked_with_field_names() {
    let bad = IndicatorInput {
        code: "bad code".into(),
        name: "".into(),
        name_en: "".into(),
        target: 0,
        rule: Rule::Coverage {
            kinds: vec!["nonsense".into()],
            series: vec![],
            org_kinds: vec![],
        },
    };
    let fields: Vec<String> = bad
        .parse("indicators[0].")
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    for f in ["code", "name", "target", "rule.kinds", "rule.org_kinds"] {
        assert!(
            fields.contains(&format!("indicators[0].{f}")),
            "{f} missing in {fields:?}"
        );
    }
    let r: std::result::Result<Rule, _> =
        serde_json::from_str(r#"{"type":"occurrences","kinds":[],"colour":"red"}"#);
    assert!(r.is_err(), "unknown fields are refused");
}

#[test]
fn the_annual_report_agrees_with_the_figures() {
    let data = data();
    let defs = [def("R", 3, reviews()), def("P", 5, participants())];
    let r = report::annual(&defs, &data);
    assert_eq!(r.figures, evaluate(&defs, &data));
    let k = r.kinds.iter().find(|k| k.kind == "case_review").unwrap();
    // Held in June: 3 invitees + 3 from outside; organisations 1 (core), 10, 11.
    assert_eq!(
        (k.planned, k.held, k.participants, k.organisations),
        (3, 1, 6, 3)
    );
    assert_eq!(r.months.len(), 12);
    assert_eq!(r.months[2].total, 1, "June");
    let bytes = report::xlsx(&r, "みらい市", crate::i18n::Lang::Ja).unwrap();
    assert!(bytes.starts_with(b"PK"));
}

#[test]
fn a_quarter_owes_a_fixed_month_series_only_what_its_months_hold() {
    // The plenary meets in May, October and February (3 a year). Planned from July, the
    // July-September quarter holds none of its months and owes nothing; October-December
    // owes one of the two left.
    let mut data = data();
    data.occurrences.clear();
    data.today = d("2026-07-01");
    data.series = vec![SeriesInfo {
        id: 1,
        code: "PLENARY".into(),
        title: "本会議".into(),
        kind: MeetingKind::Plenary,
        active: true,
        months: vec![5, 10, 2],
    }];
    let plenary = Rule::Occurrences {
        kinds: vec![],
        series: vec!["PLENARY".into()],
    };
    let defs = [def("PLENARY", 2, plenary)];
    let q2 = plan_targets(&defs, &data, d("2026-07-01"), d("2026-09-30"));
    assert!(
        q2.iter().all(|t| t.min == 0),
        "no plenary month in July-September: {q2:?}"
    );
    let q3 = plan_targets(&defs, &data, d("2026-10-01"), d("2026-12-31"));
    assert_eq!(q3[0].min, 1, "October holds one of the two");
    // Without fixed months the same quarter gets its share of the weekdays.
    data.series[0].months.clear();
    let q2 = plan_targets(&defs, &data, d("2026-07-01"), d("2026-09-30"));
    assert_eq!(q2[0].min, 1);
}

/// Meguro (002): 基幹運営会議「初年度 2月に1回」. Two of six by the end of June is on
/// schedule: the monthly report compares with the share of the year that has passed, and a
/// month with less than due is short.
#[test]
fn the_monthly_report_compares_with_the_share_of_the_year() {
    let mut x = data();
    x.today = d("2026-07-01");
    x.occurrences = [
        "2026-04-20",
        "2026-06-15",
        "2026-08-17",
        "2026-10-19",
        "2026-12-14",
        "2027-02-15",
    ]
    .iter()
    .enumerate()
    .map(|(i, date)| {
        occ(
            100 + i as i64,
            "OPERATING",
            MeetingKind::OperatingCommittee,
            date,
            &[(1, 1, true)],
        )
    })
    .collect();
    let rule = Rule::Occurrences {
        series: vec!["OPERATING".into()],
        kinds: vec![],
    };
    let defs = [def("OP", 6, rule)];
    let june = report::monthly(&defs, &x, d("2026-06-01"));
    let f = &june.figures[0];
    assert_eq!((f.target, f.due, f.planned), (6, Some(1), 2), "{f:?}");
    assert_ne!(f.standing, Standing::Short, "{f:?}");
    // Without the June meeting, two are due by the end of July and one was held.
    x.occurrences.retain(|o| o.date != d("2026-06-15"));
    x.today = d("2026-08-01");
    let july = report::monthly(&defs, &x, d("2026-07-01"));
    let f = &july.figures[0];
    assert_eq!((f.due, f.planned), (Some(2), 1), "{f:?}");
    assert_eq!(f.standing, Standing::Short, "{f:?}");
    // The annual report keeps the year's target.
    assert_eq!(report::annual(&defs, &x).figures[0].due, None);
}

fn hold(request: i64, from: &str, hub: bool, status: &str) -> PlacementHold {
    PlacementHold {
        request_id: request,
        from: d(from),
        hub,
        status: status.into(),
    }
}

/// Sendai (003): 「② 拠点における緊急用居室における受入れ（受入れ件数 36件）」 and 「そのほとんど
/// が、拠点における緊急用居室における受け入れとなっている」: placements counted once (a split stay
/// at its first night's facility), in the hub's room or in the community, at three stages, and
/// the community share in whole percent.
#[test]
fn placements_and_the_community_share() {
    let mut x = data();
    x.placements = vec![
        // 1: the hub's room, received in May.
        hold(1, "2026-05-01", true, "placed"),
        // 2: a split stay, short stay then the hub's room: one community placement.
        hold(2, "2026-06-10", false, "ended"),
        hold(2, "2026-06-12", true, "ended"),
        // 3: accepted by a group home, not confirmed yet.
        hold(3, "2026-10-05", false, "accepted"),
        // 4: proposed to the hub's room, no answer yet.
        hold(4, "2026-10-03", true, "held"),
        // 5: declined (the store does not read it; a stray one is not a placement either).
        hold(5, "2026-07-01", false, "declined"),
        // 6: last fiscal year's.
        hold(6, "2026-03-30", false, "ended"),
        // 7: confirmed in a short stay from 20 October: expected, not received yet.
        hold(7, "2026-10-20", false, "placed"),
    ];
    let defs = [
        def(
            "ALL",
            36,
            Rule::Placements {
                at: PlacementPlace::All,
            },
        ),
        def(
            "HUB",
            1,
            Rule::Placements {
                at: PlacementPlace::Hub,
            },
        ),
        def(
            "COMMUNITY",
            2,
            Rule::Placements {
                at: PlacementPlace::Community,
            },
        ),
        def("SHARE", 30, Rule::CommunityShare {}),
    ];
    let f = evaluate(&defs, &x);
    let four = |f: &Figure| (f.target, f.planned, f.expected, f.actual);
    assert_eq!(four(&f[0]), (36, 5, 4, 2));
    assert_eq!(four(&f[1]), (1, 2, 1, 1));
    assert_eq!(f[1].standing, Standing::Met);
    assert_eq!(four(&f[2]), (2, 3, 3, 1));
    assert_eq!(f[2].standing, Standing::OnTrack);
    // 3 of 5 with the proposals, 3 of 4 expected, 1 of 2 received.
    assert_eq!(four(&f[3]), (30, 60, 75, 50));
    assert_eq!(f[3].unit, Msg::new("%", "%"));
    assert!(
        f[3].summary.ja.contains("実績 50%（1/2件）"),
        "{}",
        f[3].summary.ja
    );
    assert!(f.iter().all(|f| f.occurrences.is_empty()));
    // Nothing to plan or invite to for placements.
    assert!(proposals(&defs, &f, &x).is_empty());
    assert!(plan_targets(&defs, &x, d("2026-10-02"), d("2027-03-31")).is_empty());
    // A third has 33 %: rounded down, so a 34 % target is not shown as met.
    x.placements = vec![
        hold(1, "2026-05-01", true, "placed"),
        hold(2, "2026-05-02", true, "placed"),
        hold(3, "2026-05-03", false, "placed"),
    ];
    let f = &evaluate(&[def("SHARE", 34, Rule::CommunityShare {})], &x)[0];
    assert_eq!((f.actual, f.standing), (33, Standing::Short));
    // The monthly report owes the whole share every month.
    let june = report::monthly(
        &[def("SHARE", 30, Rule::CommunityShare {})],
        &x,
        d("2026-06-01"),
    );
    assert_eq!(june.figures[0].due, Some(30));
    // Validation: a share is a percentage; placements need no series.
    let too_much = def("SHARE", 120, Rule::CommunityShare {})
        .parse("")
        .unwrap_err();
    assert_eq!(too_much[0].field, "target");
    def(
        "ALL",
        36,
        Rule::Placements {
            at: PlacementPlace::All,
        },
    )
    .parse("")
    .unwrap();
}

/// Sendai (003): 「① 短期入所事業所やグループホーム等の訪問（訪問事業所数 10事業所）」: distinct
/// organisations visited, and what the rest of the year owes.
#[test]
fn organisations_visited() {
    let mut x = data();
    x.organisations.extend([
        org(20, "short_stay", "東区"),
        org(21, "group_home", "西区"),
        org(22, "short_stay", "西区"),
    ]);
    let visit = |id: i64, at: i64, date: &str| {
        let mut o = occ(
            id,
            "HUB-VISIT",
            MeetingKind::OfficeVisit,
            date,
            &[(1, 1, true)],
        );
        o.place_organisation_id = Some(at);
        o.capacity = None;
        o
    };
    let mut held = visit(30, 20, "2026-06-01");
    held.record = Some(Record {
        outcome: "held".into(),
        reason: String::new(),
        minutes_url: String::new(),
        external_participants: 0,
        participants: vec![1],
        recorded_at: String::new(),
    });
    let mut cancelled = visit(33, 22, "2026-12-01");
    cancelled.cancelled = true;
    x.occurrences = vec![
        held,
        visit(31, 21, "2026-11-01"),
        visit(32, 21, "2027-01-15"),
        cancelled,
    ];
    let rule = Rule::Visited {
        kinds: vec![],
        series: vec!["HUB-VISIT".into()],
        org_kinds: vec!["short_stay".into(), "group_home".into()],
    };
    let defs = [def("VISITS", 3, rule)];
    let f = &evaluate(&defs, &x)[0];
    assert_eq!((f.target, f.planned, f.expected, f.actual), (3, 2, 2, 1));
    assert_eq!(f.missing.iter().map(|m| m.id).collect::<Vec<_>>(), [22]);
    assert_eq!(f.standing, Standing::Short);
    // From October: one visited before; two more among those not visited outside the period.
    let t = plan_targets(&defs, &x, d("2026-10-02"), d("2027-03-31"));
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(
        (t[0].min, t[0].place_organisation_ids.clone()),
        (2, vec![21, 22])
    );
}
