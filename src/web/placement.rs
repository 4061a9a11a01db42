//! Pages of emergency placement: the vacancy board (facility × night grid, free / held /
//! placed / occupied / stale, told by symbol and word, not colour alone), the vacancy search,
//! requests and their flow, batch placement, the figures, and the facility's no-login page.
//!
//! GET never changes anything (search is a GET form); every change is a POST with the CSRF
//! token, except on the facility's page, whose link itself is the secret.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate, Utc};
use minijinja::{context, Value};
use renkei_solver::calendar::{jst_date, weekday_ja};
use renkei_solver::placement::model::{Needs, Nights, Segment};
use renkei_solver::placement::rules;
use serde::Deserialize;

use super::{
    base, check_csrf, form_map, form_pairs, page, parse_page_id as parse_id, plural,
    redirect_with_flash, Flash, LinkLang, PageLang, PageResult,
};
use crate::api::placement::{
    figures_response, parse_board_query, parse_fiscal_year, propose_or_alternatives, reason_of,
};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::master::FieldError;
use crate::placement::engine::{self, SearchOut};
use crate::placement::{
    care_label, disability_label, parse_nights, parse_slug, sex_label, sex_policy_label,
    NeedsInput, RequestInput, SearchInput, DEFAULT_HOLD_HOURS,
};
use crate::store::placement::{engine_instance, status_label, Actor, BedNightRow, FacilityRow};
use crate::store::tenancy::MunicipalityId;
use crate::store::{local_time, Db};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/placement", get(board_page))
        .route("/placement/search", get(search_page))
        .route(
            "/placement/requests",
            get(requests_page).post(create_request_submit),
        )
        .route("/placement/requests/{id}", get(request_page))
        .route("/placement/requests/{id}/propose", post(propose_submit))
        .route(
            "/placement/requests/{id}/{action}",
            post(request_action_submit),
        )
        .route("/placement/holds/{id}/answer", post(answer_submit))
        .route("/placement/batch", post(batch_submit))
        .route("/placement/figures", get(figures_page))
        .route("/placement/declines", get(declines_page))
        .route(
            "/placement/facilities/{id}/vacancy-request",
            post(vacancy_request_submit),
        )
        .route(
            "/facility/{token}",
            get(facility_page).post(facility_submit),
        )
}

fn tr(lang: Lang, m: &Msg) -> String {
    m.get(lang).to_string()
}

/// The words of these pages.
fn words(lang: Lang) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("board", "空床ボード", "Vacancy board"),
        ("ask_update", "施設に空床の更新をメールで依頼", "Ask the facility by mail to update"),
        ("asked", "空床の更新依頼を送信待ちにしました（送信メールで確認できます）", "The update request is queued (see Sent mail)"),
        ("board_lead", "施設ごと・夜ごとの空き状況です。記号と文字で表示しています。", "Vacancies per facility and night, shown by symbol and word."),
        ("search", "空床検索", "Vacancy search"),
        ("requests", "緊急受入れの相談", "Emergency requests"),
        ("figures", "受入れ実績", "Placement figures"),
        ("free", "空き", "free"),
        ("held", "仮押さえ", "held"),
        ("placed", "緊急入所", "placed"),
        ("occupied", "利用中", "occupied"),
        ("stale", "空き（未確認）", "free (unconfirmed)"),
        ("unfit", "条件に合わない", "does not fit"),
        ("legend", "凡例", "Legend"),
        ("grid_label", "空床ボード（行は施設・部屋・ベッド、列は夜）。Tabで移動し、矢印キーで縦横にスクロールできます", "Vacancy board (rows: facilities, rooms and beds; columns: nights). Tab to it and scroll with the arrow keys"),
        ("bed_column", "施設 / 部屋・ベッド", "Facility / room, bed"),
        ("pages", "ページ", "Pages"),
        ("prev_page", "前の施設", "Previous facilities"),
        ("next_page", "次の施設", "Next facilities"),
        ("first_night", "初日（泊）", "First night"),
        ("check_out", "退所日", "Check-out"),
        ("days", "日数", "Days"),
        ("show", "表示", "Show"),
        ("sex", "性別", "Sex"),
        ("male", "男性", "male"),
        ("female", "女性", "female"),
        ("any", "指定なし", "any"),
        ("child", "児童", "child"),
        ("wheelchair", "車椅子", "wheelchair"),
        ("behavioural", "強度行動障害への支援", "severe behavioural support"),
        ("night_staff", "夜間の職員配置", "night staff"),
        ("disability", "障害種別", "Disability"),
        ("medical", "医療的ケア", "Medical care"),
        ("facility", "施設", "Facility"),
        ("room", "部屋", "Room"),
        ("bed", "ベッド", "Bed"),
        ("confirmed", "空き情報の確認", "Vacancies confirmed"),
        ("never", "未確認", "never"),
        ("filter", "条件で絞り込む", "Filter by needs"),
        ("whole", "全泊とれるベッド（おすすめ順）", "Beds free for every night (best first)"),
        ("split", "途中で移る案（移動が最少）", "Split stay (fewest transfers)"),
        ("cost", "費用（小さいほど良い）", "Cost (lower is better)"),
        ("split_first", "地域の事業所で泊をつなぐ案です。拠点の緊急用居室は最後の手段として下に挙げています。", "This split keeps the stay in community facilities; the hub's own room, the last resort, is listed below."),
        ("misses", "合わない施設と理由", "Facilities that do not fit, and why"),
        ("none_whole", "全泊とれるベッドはありません", "No bed is free for every night"),
        ("distance", "自宅からの距離", "Distance from home"),
        ("home_and_distance", "自宅の位置と距離の上限", "Home and distance limit"),
        ("home_x", "自宅 東へ(km)", "Home, km east"),
        ("home_y", "自宅 北へ(km)", "Home, km north"),
        ("max_distance", "距離の上限(km)", "Farthest (km)"),
        ("home_hint", "位置は施設と同じく基準点（拠点）から東・北へのkm（西・南はマイナス）。空欄は基準点。距離の上限より遠い施設は候補にしません（空欄は制限なし、0.5〜500）。",
         "Positions are km east and north of the reference point (the hub), as the facilities' are (west and south negative); empty is the reference point. Facilities farther than the limit are not offered (empty: no limit; 0.5-500)."),
        ("hub_room", "拠点の居室（予備）", "hub room (reserve)"),
        ("propose", "この案で打診", "Propose this"),
        ("case", "ケース番号", "Case"),
        ("status", "状態", "Status"),
        ("nights", "泊数", "Nights"),
        ("nights_unit", "泊", " nights"),
        ("urgency", "緊急度", "Urgency"),
        ("new_request", "相談を受け付ける", "Record a request"),
        ("person_name", "氏名", "Name"),
        ("person_kana", "フリガナ", "Kana"),
        ("contact", "連絡先", "Contact"),
        ("notes", "メモ", "Notes"),
        ("preregistered", "事前登録あり（同意済み）", "Registered in advance (consent given)"),
        ("save", "登録", "Save"),
        ("batch", "受付中の相談をまとめて配置（最適化）", "Place all open requests (optimizer)"),
        ("batch_lead", "地域の施設を優先し、拠点の居室はできるだけ空けておきます。各案は施設への打診（仮押さえ）になります。", "Community beds first; the hub's room is kept free where possible. Each result becomes a proposal (hold) to the facility."),
        ("holds", "打診・入所", "Proposals and stays"),
        ("accept", "受入れ可と記録", "Record: accepted"),
        ("decline", "辞退と記録", "Record: declined"),
        ("reason", "理由", "Reason"),
        ("confirm", "入所を確定", "Confirm placement"),
        ("end", "退所（終了）", "End stay"),
        ("withdraw", "取り下げ", "Withdraw"),
        ("withdraw_understood", "取り下げると元に戻せないことを理解しました", "I understand that a withdrawal cannot be undone"),
        ("end_understood", "退所日からベッドが空きに戻ることを理解しました", "I understand that the bed becomes free from the check-out day"),
        ("history", "経過", "History"),
        ("expires", "回答期限", "Answer by"),
        ("alternatives", "この相談の空床", "Vacancies for this request"),
        ("personal", "個人情報（拠点職員のみ。閲覧は記録されます）", "Personal data (hub staff only; reads are logged)"),
        ("month", "月", "Month"),
        ("consultations", "相談件数", "Consultations"),
        ("preventive", "予防的支援", "Preventive support"),
        ("placements", "受入れ件数", "Placements"),
        ("total_nights", "延べ泊数", "Nights"),
        ("hub_nights", "拠点居室", "Hub room"),
        ("community_nights", "地域の施設", "Community"),
        ("community_share", "地域の割合（泊）", "Community share (nights)"),
        ("community_placements", "うち地域の施設での受入れ", "of which in community facilities"),
        ("placement_share", "地域の割合（受入れ）", "Community share (placements)"),
        ("download", "ダウンロード", "Download"),
        ("fiscal_year", "年度", "Fiscal year"),
        ("facility_lead", "この画面はログインなしで使えます。空きを確認・更新し、拠点からの打診に回答してください。", "No login needed. Check and update your vacancies, and answer the hub's proposals."),
        ("confirm_vacancies", "この内容で空き状況を確認しました", "These vacancies are correct"),
        ("mark_occupied", "利用中にする夜（チェック）", "Nights taken by regular bookings (ticked)"),
        ("contact", "お問い合わせ先", "Contact"),
        ("contact_office", "担当", "Office"),
        ("contact_phone", "電話", "Telephone"),
        ("contact_email", "メール", "Mail"),
        ("other_lang", "English", "日本語"),
        ("reason_code", "お断りの理由", "Reason for declining"),
        ("reason_words", "理由（自由記述・その他は必須）", "Reason in words (required for other)"),
        ("choose", "選んでください", "Choose"),
        ("declines", "施設のお断り理由", "Facilities' decline reasons"),
        ("declines_lead", "年度内の打診を施設ごとに数え、お断りの理由をまとめています。相談者の個人情報は含みません（相談番号と必要な支援のみ）。", "The year's proposals per facility and the reasons they were declined. No personal data of requesters (case numbers and needs only)."),
        ("proposals", "打診", "Proposals"),
        ("accepted", "受諾", "Accepted"),
        ("declined", "お断り", "Declined"),
        ("expired", "期限切れ", "Expired"),
        ("waiting", "回答待ち", "Waiting"),
        ("other", "その他（取り下げ等）", "Other (withdrawn, ...)"),
        ("reasons", "理由の内訳", "Reasons"),
        ("answered_on", "回答日", "Answered on"),
        ("case", "相談番号", "Case"),
        ("needs", "必要な支援", "Needs"),
        ("nights", "泊", "Nights"),
        ("facility_words", "施設の記入", "Facility's words"),
        ("no_proposals", "この年度の打診はありません。", "No proposals in this fiscal year."),
        ("all_facilities", "全施設", "All facilities"),
    ];
    super::word_table(lang, pairs)
}

/// A night's column heading, kept narrow so that a month of nights fits the window and an A4
/// landscape page: the day (with its month on the first column and on each 1st), the weekday
/// in one character (Japanese) or three letters, and the whole date as the `abbr` title.
fn night_heading(lang: Lang, n: NaiveDate, first: bool) -> Value {
    let wd = match lang {
        Lang::Ja => weekday_ja(n.weekday())
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default(),
        Lang::En => n.format("%a").to_string(),
    };
    let label = if first || n.day() == 1 {
        format!("{}/{}", n.month(), n.day())
    } else {
        n.day().to_string()
    };
    context! { date => n.to_string(), label, weekday => wd, weekend => n.weekday().number_from_monday() >= 6 }
}

/// The grid: per facility, per bed, per night a state.
fn grid(
    lang: Lang,
    facilities: &[FacilityRow],
    taken: &[BedNightRow],
    nights: Nights,
    needs: &[Needs],
    show_cases: bool,
) -> Vec<Value> {
    let by: HashMap<(i64, String), &BedNightRow> = taken
        .iter()
        .map(|t| ((t.bed_id, t.night.clone()), t))
        .collect();
    let inst = engine_instance(facilities, Vec::new());
    facilities
        .iter()
        .map(|f| {
            let ef = inst.facilities.iter().find(|x| i64::from(x.id) == f.id);
            let beds: Vec<Value> = f
                .rooms
                .iter()
                .flat_map(|r| r.beds.iter().map(move |b| (r, b)))
                .map(|(r, b)| {
                    // Unfit when no filtered variant fits (both sexes when none was chosen).
                    let reasons: Vec<_> = needs
                        .iter()
                        .filter_map(|n| {
                            let room = inst.rooms.iter().find(|x| i64::from(x.id) == r.id)?;
                            let bed = inst.beds.iter().find(|x| i64::from(x.id) == b.id)?;
                            rules::unfit(ef?, room, bed, n)
                        })
                        .collect();
                    let unfit = if !needs.is_empty() && reasons.len() == needs.len() {
                        reasons.into_iter().next()
                    } else {
                        None
                    };
                    let cells: Vec<Value> = nights
                        .iter()
                        .map(|n| {
                            let t = by.get(&(b.id, n.to_string()));
                            let (state, symbol) = match (t.map(|t| t.state.as_str()), &unfit) {
                                (Some("held"), _) => ("held", "△"),
                                (Some("placed"), _) => ("placed", "●"),
                                (Some(_), _) => ("occupied", "×"),
                                (None, Some(_)) => ("unfit", "－"),
                                (None, None) if f.stale => ("stale", "？"),
                                (None, None) => ("free", "○"),
                            };
                            context! { state, symbol, case => if show_cases { t.and_then(|t| t.case_number.clone()) } else { None } }
                        })
                        .collect();
                    context! {
                        name => b.name.clone(), room => r.name.clone(), wheelchair => b.wheelchair,
                        policy => parse_slug(&r.sex_policy).map(|p| tr(lang, &sex_policy_label(p))).unwrap_or_default(),
                        unfit => unfit.map(|u| if lang == Lang::Ja { u.ja } else { u.en }),
                        cells,
                    }
                })
                .collect();
            context! {
                id => f.id, name => f.name.clone(), kind => tr(lang, &f.kind_label), stale => f.stale,
                has_email => !f.contact_email.trim().is_empty(),
                confirmed_at => f.vacancy_confirmed_at.as_deref().map(local_time), confirmed_by => f.vacancy_confirmed_by.clone(),
                beds,
            }
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    days: Option<u32>,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    wheelchair: Option<String>,
    #[serde(default)]
    child: Option<String>,
    #[serde(default)]
    disability: String,
    /// The page of facilities (1-based, `BOARD_PAGE_FACILITIES` a page).
    #[serde(default)]
    page: Option<u32>,
}

impl BoardQuery {
    /// The board's address with the same nights and filters on page `page`.
    fn href_for_page(&self, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", self.from.as_str()),
            ("sex", &self.sex),
            ("disability", &self.disability),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if let Some(d) = self.days {
            q.append_pair("days", &d.to_string());
        }
        if self.wheelchair.is_some() {
            q.append_pair("wheelchair", "1");
        }
        if self.child.is_some() {
            q.append_pair("child", "1");
        }
        q.append_pair("page", &page.to_string());
        format!("/placement?{}", q.finish())
    }

    /// The needs to filter by (none when nothing was chosen). Without a chosen sex a bed is
    /// kept when it fits a man or a woman.
    fn needs(&self) -> Vec<Needs> {
        if self.sex.is_empty()
            && self.wheelchair.is_none()
            && self.child.is_none()
            && self.disability.is_empty()
        {
            return Vec::new();
        }
        let sexes = if self.sex.is_empty() {
            vec!["male".to_string(), "female".to_string()]
        } else {
            vec![self.sex.clone()]
        };
        sexes
            .into_iter()
            .filter_map(|sex| self.needs_of(sex))
            .collect()
    }

    fn needs_of(&self, sex: String) -> Option<Needs> {
        let input = NeedsInput {
            sex,
            child: self.child.is_some(),
            wheelchair: self.wheelchair.is_some(),
            disability_types: if self.disability.is_empty() {
                Vec::new()
            } else {
                vec![self.disability.clone()]
            },
            ..NeedsInput::default()
        };
        input.parse(&mut Vec::new())
    }
}

/// Facilities per page of the board: a municipality with 2,000 beds is read a page at a time
/// (about 20 facilities, a few hundred bed rows), never as one page of tens of thousands of cells.
pub const BOARD_PAGE_FACILITIES: usize = 20;

async fn board_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<BoardQuery>,
) -> PageResult {
    let b = base(&state, lang, &session, "placement").await?;
    let nights = parse_board_query(&q.from, q.days)?;
    let m = session.user.municipality_id;
    let facilities = state.db.list_facilities(m).await?;
    let pages = facilities.len().div_ceil(BOARD_PAGE_FACILITIES).max(1);
    let page_no = match q.page {
        None => 1,
        Some(p) if (1..=pages).contains(&(p as usize)) => p as usize,
        Some(_) => {
            return Err(Error::Validation(vec![crate::master::FieldError::new(
                "page",
                format!("ページは1から{pages}で指定してください"),
                format!("page is 1 to {pages}"),
            )])
            .into())
        }
    };
    let first = (page_no - 1) * BOARD_PAGE_FACILITIES;
    let shown = &facilities
        [first.min(facilities.len())..(first + BOARD_PAGE_FACILITIES).min(facilities.len())];
    let taken = state.db.board(m, nights).await?;
    let needs = q.needs();
    let rows = grid(
        lang,
        shown,
        &taken,
        nights,
        &needs,
        session.user.role.can_handle_placements(),
    );
    let page_href = |p: usize| q.href_for_page(p);
    page(
        "placement_board.html",
        b,
        context! {
            w => words(lang), facilities => rows,
            nights => nights.iter().enumerate().map(|(i, n)| night_heading(lang, n, i == 0)).collect::<Vec<_>>(),
            from => nights.from.to_string(), days => nights.len(),
            q_sex => q.sex, q_wheelchair => q.wheelchair.is_some(), q_child => q.child.is_some(), q_disability => q.disability,
            disabilities => disability_options(lang),
            paging => context! {
                page => page_no, pages,
                text => paging_text(lang, if shown.is_empty() { 0 } else { first + 1 }, first + shown.len(), facilities.len(), shown.iter().map(|f| f.beds().count()).sum()),
                prev => (page_no > 1).then(|| page_href(page_no - 1)),
                next => (page_no < pages).then(|| page_href(page_no + 1)),
            },
        },
    )
}

/// Which facilities and beds a page of the board shows, and the page size.
fn paging_text(lang: Lang, first: usize, last: usize, total: usize, beds: usize) -> String {
    let per = BOARD_PAGE_FACILITIES;
    match lang {
        Lang::Ja => {
            format!("施設 {first}〜{last}（全{total}施設、1ページ{per}施設）・ベッド{beds}床")
        }
        Lang::En => format!("Facilities {first} to {last} of {total} ({per} a page), {beds} beds"),
    }
}

fn disability_options(lang: Lang) -> Vec<Value> {
    use renkei_solver::placement::model::DisabilityType as D;
    [D::Physical, D::Intellectual, D::Mental, D::Developmental, D::IntractableDisease]
        .into_iter()
        .map(|d| context! { slug => crate::placement::slug(&d), label => tr(lang, &disability_label(d)) })
        .collect()
}

fn care_options(lang: Lang) -> Vec<Value> {
    use renkei_solver::placement::model::MedicalCare as C;
    [C::Suction, C::TubeFeeding, C::Oxygen, C::Catheter]
        .into_iter()
        .map(|c| context! { slug => crate::placement::slug(&c), label => tr(lang, &care_label(c)) })
        .collect()
}

/// A search form's values (GET query with repeated keys), and the numbers typed that are not
/// numbers (the home's position and the distance limit).
fn search_input(pairs: &[(String, String)]) -> (SearchInput, Vec<FieldError>) {
    let one = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let many = |k: &str| {
        pairs
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let mut errors = Vec::new();
    let mut number = |k: &str| {
        crate::master::typed_number::<f64>(k, &one(k)).unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    };
    let (home_x_km, home_y_km, max_distance_km) = (
        number("home_x_km").unwrap_or(0.0),
        number("home_y_km").unwrap_or(0.0),
        number("max_distance_km"),
    );
    let input = SearchInput {
        from: one("from"),
        to: one("to"),
        needs: NeedsInput {
            sex: one("sex"),
            child: !one("child").is_empty(),
            disability_types: many("disability_types"),
            wheelchair: !one("wheelchair").is_empty(),
            medical_care: many("medical_care"),
            behavioural_support: !one("behavioural_support").is_empty(),
            night_staff: !one("night_staff").is_empty(),
        },
        home_x_km,
        home_y_km,
        max_distance_km,
    };
    (input, errors)
}

fn result_view(lang: Lang, out: &SearchOut) -> Value {
    let bed = |b: &engine::BedChoice| {
        context! {
            bed_id => b.bed_id, facility => b.facility_name.clone(), room => b.room_name.clone(), bed => b.bed_name.clone(),
            kind => tr(lang, &b.kind_label), hub_room => b.hub_room, wheelchair => b.wheelchair,
            distance => format!("{:.1} km", b.distance_km), stale => b.stale, cost => format!("{:.1}", b.cost),
        }
    };
    context! {
        from => out.from.clone(), to => out.to.clone(), nights => out.nights,
        whole => out.whole.iter().map(bed).collect::<Vec<_>>(),
        split => out.split.as_ref().map(|s| context! {
            transfers => s.transfers, cost => format!("{:.1}", s.cost),
            segments => s.segments.iter().map(|g| context! { from => g.from.clone(), to => g.to.clone(), ..bed(&g.bed) }).collect::<Vec<_>>(),
        }),
        misses => out.misses.iter().map(|m| context! { facility => m.facility_name.clone(), reason => tr(lang, &m.reason) }).collect::<Vec<_>>(),
    }
}

async fn search_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    uri: axum::http::Uri,
) -> PageResult {
    let b = base(&state, lang, &session, "placement/search").await?;
    let pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let (input, typed) = search_input(&pairs);
    let field_errors = |e: Vec<FieldError>| -> Vec<Value> {
        e.into_iter()
            .map(|f| context! { field => f.field, message => tr(lang, &f.message) })
            .collect()
    };
    let (result, errors) = if pairs.is_empty() {
        (None, Vec::new())
    } else if !typed.is_empty() {
        (None, field_errors(typed))
    } else {
        match input.parse() {
            Ok(v) => (
                Some(result_view(
                    lang,
                    &engine::search_vacancies(&state.db, session.user.municipality_id, &v, &[])
                        .await?,
                )),
                Vec::new(),
            ),
            Err(e) => (None, field_errors(e)),
        }
    };
    let as_typed = form_map(&pairs);
    let typed_value = |k: &str| as_typed.get(k).cloned().unwrap_or_default();
    let today = jst_date(Utc::now());
    page(
        "placement_search.html",
        b,
        context! {
            w => words(lang), result, errors,
            v => context! {
                from => if input.from.is_empty() { today.to_string() } else { input.from.clone() },
                to => if input.to.is_empty() { today.succ_opt().unwrap_or(today).to_string() } else { input.to.clone() },
                sex => input.needs.sex.clone(), child => input.needs.child, wheelchair => input.needs.wheelchair,
                behavioural_support => input.needs.behavioural_support, night_staff => input.needs.night_staff,
                disability_types => input.needs.disability_types.clone(), medical_care => input.needs.medical_care.clone(),
                home_x_km => typed_value("home_x_km"), home_y_km => typed_value("home_y_km"),
                max_distance_km => typed_value("max_distance_km"),
            },
            disabilities => disability_options(lang), cares => care_options(lang),
        },
    )
}

async fn requests_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    session.user.require_hub()?;
    let b = base(&state, lang, &session, "placement/requests").await?;
    let m = session.user.municipality_id;
    let rows: Vec<Value> = state
        .db
        .list_requests(m, None)
        .await?
        .into_iter()
        .map(|r| {
            context! {
                id => r.id, case => r.case_number, status => tr(lang, &r.status_label), status_slug => r.status,
                from => r.from, to => r.to, nights => r.nights, urgency => r.urgency,
                sex => parse_slug(&r.sex).map(|s| tr(lang, &sex_label(s))).unwrap_or_default(),
                needs => needs_text(lang, &r.disability_types, &r.medical_care, r.wheelchair, r.child),
            }
        })
        .collect();
    page(
        "placement_requests.html",
        b,
        context! { w => words(lang), requests => rows, disabilities => disability_options(lang), cares => care_options(lang), errors => Vec::<Value>::new(), form => HashMap::<String, String>::new() },
    )
}

fn needs_text(
    lang: Lang,
    types: &[String],
    care: &[String],
    wheelchair: bool,
    child: bool,
) -> String {
    let mut parts: Vec<String> = types
        .iter()
        .filter_map(|t| parse_slug(t))
        .map(|d| tr(lang, &disability_label(d)))
        .collect();
    parts.extend(
        care.iter()
            .filter_map(|c| parse_slug(c))
            .map(|c| tr(lang, &care_label(c))),
    );
    if wheelchair {
        parts.push(if lang == Lang::Ja {
            "車椅子".into()
        } else {
            "wheelchair".into()
        });
    }
    if child {
        parts.push(if lang == Lang::Ja {
            "児童".into()
        } else {
            "child".into()
        });
    }
    parts.join(if lang == Lang::Ja { "・" } else { ", " })
}

async fn create_request_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let pairs = form_pairs(&body);
    let form = form_map(&pairs);
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let (search, typed) = search_input(&pairs);
    let one = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = RequestInput {
        case_number: one("case_number"),
        person_name: one("person_name"),
        person_kana: one("person_kana"),
        contact: one("contact"),
        notes: one("notes"),
        preregistered: !one("preregistered").is_empty(),
        from: search.from,
        to: search.to,
        needs: search.needs,
        urgency: one("urgency").parse().unwrap_or(0),
        home_x_km: search.home_x_km,
        home_y_km: search.home_y_km,
        known_facilities: Vec::new(),
        referrer: String::new(),
        max_distance_km: search.max_distance_km,
    };
    let saved = match input.parse() {
        Ok(v) if typed.is_empty() => state.db.create_request(user, &v).await,
        Ok(_) => Err(Error::Validation(typed)),
        Err(e) => Err(Error::Validation(typed.into_iter().chain(e).collect())),
    };
    match saved {
        Ok(id) => Ok(Redirect::to(&format!("/placement/requests/{id}")).into_response()),
        Err(Error::Validation(errors)) => {
            let b = base(&state, lang, &session, "placement/requests").await?;
            let rows: Vec<Value> = Vec::new();
            let errors: Vec<Value> = errors
                .into_iter()
                .map(|f| context! { field => f.field, message => tr(lang, &f.message) })
                .collect();
            page(
                "placement_requests.html",
                b,
                context! { w => words(lang), requests => rows, errors, form => form, disabilities => disability_options(lang), cares => care_options(lang) },
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn request_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let user = session.user.require_hub()?;
    let id = parse_id(&id)?;
    let m = user.municipality_id;
    let d = state.db.request_detail(user, id).await?;
    let b = base(&state, lang, &session, "placement/requests").await?;
    let open = crate::store::placement::OPEN_STATUSES.contains(&d.summary.status.as_str());
    let alternatives = if open {
        Some(result_view(
            lang,
            &engine::alternatives(&state.db, m, id).await?,
        ))
    } else {
        None
    };
    let s = &d.summary;
    // What withdrawing and ending do, said before they are done.
    let mut told: Vec<String> = d
        .holds
        .iter()
        .filter(|h| matches!(h.status.as_str(), "held" | "accepted"))
        .map(|h| h.facility_name.clone())
        .collect();
    told.sort();
    told.dedup();
    let n = told.len() as i64;
    let withdraw_consequence = match (lang, n) {
        (Lang::Ja, 0) => "取り下げると、この相談は終了し、再開できません。打診中の施設はありません。".to_string(),
        (Lang::Ja, _) => format!(
            "取り下げると、この相談は終了し、再開できません。打診中の{n}施設（{}）の仮押さえを解除し、連絡先のある施設には取り下げのお知らせがメールで送られます。",
            told.join("、")
        ),
        (Lang::En, 0) => "Withdrawing closes this request for good. No facility has a proposal to release.".to_string(),
        (Lang::En, _) => format!(
            "Withdrawing closes this request for good. The beds held at {n} {} ({}) are released, and each facility with a contact address is told by mail.",
            plural(n, "facility", "facilities"),
            told.join(", ")
        ),
    };
    let end_consequence = tr(
        lang,
        &Msg::new(
            "退所日の夜からベッドは空きに戻り、ほかの方に提案できるようになります。入所は終了として記録され、元に戻せません。",
            "The bed is free again from the night of the check-out day and can be proposed to others. The stay is recorded as ended; this cannot be undone.",
        ),
    );
    page(
        "placement_request.html",
        b,
        context! {
            w => words(lang), alternatives, open, withdraw_consequence, end_consequence, decline_reasons => decline_reasons(lang),
            r => context! {
                id => s.id, case => s.case_number.clone(), status => tr(lang, &s.status_label), status_slug => s.status.clone(),
                reason => s.status_reason.clone(), from => s.from.clone(), to => s.to.clone(), nights => s.nights, urgency => s.urgency,
                sex => parse_slug(&s.sex).map(|x| tr(lang, &sex_label(x))).unwrap_or_default(),
                needs => needs_text(lang, &s.disability_types, &s.medical_care, s.wheelchair, s.child),
                person_name => d.person_name.clone(), person_kana => d.person_kana.clone(), contact => d.contact.clone(), notes => d.notes.clone(),
                preregistered => s.preregistered, referrer => d.referrer.clone(), known => d.known_facilities.join("、"),
            },
            holds => d.holds.iter().map(|h| context! {
                id => h.id, facility => h.facility_name.clone(), room => h.room_name.clone(), bed => h.bed_name.clone(),
                from => h.from.clone(), to => h.to.clone(), status => tr(lang, &hold_label(&h.status)), status_slug => h.status.clone(),
                expires => local_time(&h.expires_at), reason => h.answer_reason.clone(),
            }).collect::<Vec<_>>(),
            events => d.events.iter().map(|e| context! {
                at => local_time(&e.at), user => e.username.clone(), to => tr(lang, &status_label(&e.to_status)), reason => e.reason.clone(),
            }).collect::<Vec<_>>(),
        },
    )
}

fn hold_label(s: &str) -> Msg {
    match s {
        "held" => Msg::new("回答待ち", "waiting for the answer"),
        "accepted" => Msg::new("受入れ可", "accepted"),
        "placed" => Msg::new("入所確定", "placed"),
        "declined" => Msg::new("辞退", "declined"),
        "expired" => Msg::new("期限切れ", "expired"),
        "withdrawn" => Msg::new("取り下げ", "withdrawn"),
        "ended" => Msg::new("終了", "ended"),
        other => Msg::new(other, other),
    }
}

async fn propose_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let pairs = form_pairs(&body);
    let form = form_map(&pairs);
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let id = parse_id(&id)?;
    // Segments come as bed:from:to triples (one for a whole stay, several for a split one).
    let mut segments = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "segment") {
        let parts: Vec<&str> = v.split(':').collect();
        let [bed, from, to] = parts[..] else {
            return Err(Error::not_found("ベッド", "bed").into());
        };
        let nights = parse_nights("from", from, "to", to).map_err(Error::Validation)?;
        segments.push(Segment {
            bed: bed.parse().map_err(|_| Error::not_found("ベッド", "bed"))?,
            nights,
        });
    }
    propose_or_alternatives(&state.db, user, id, &segments, DEFAULT_HOLD_HOURS).await?;
    Ok(Redirect::to(&format!("/placement/requests/{id}")).into_response())
}

async fn request_action_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let id = parse_id(&id)?;
    let reason = form.get("reason").map(String::as_str).unwrap_or("");
    let flash = match action.as_str() {
        "confirm" => {
            state.db.confirm_placement(user, id).await?;
            Flash::PlacementConfirmed
        }
        "withdraw" => {
            super::meetings::understood(&form)?;
            let told = state
                .db
                .withdraw_request(user, id, &reason_of(reason, true)?)
                .await?;
            Flash::RequestWithdrawn {
                facilities: told as i64,
            }
        }
        "end" => {
            super::meetings::understood(&form)?;
            let check_out = crate::master::parse_date(
                "check_out",
                form.get("check_out").map(String::as_str).unwrap_or(""),
            )
            .map_err(|e| Error::Validation(vec![e]))?;
            state
                .db
                .end_placement(user, id, check_out, &reason_of(reason, true)?)
                .await?;
            Flash::PlacementEnded
        }
        _ => return Err(Error::not_found("ページ", "page").into()),
    };
    Ok(redirect_with_flash(
        &state,
        &format!("/placement/requests/{id}"),
        flash,
    ))
}

async fn answer_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let hold = parse_id(&id)?;
    let answer = answer_of(&form)?;
    state
        .db
        .answer_hold_with(user.municipality_id, Actor::User(user), hold, &answer)
        .await?;
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/placement/"))
        .cloned()
        .unwrap_or_else(|| "/placement/requests".into());
    Ok(Redirect::to(&back).into_response())
}

async fn batch_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let out = engine::place_batch(&state.db, user, &[], DEFAULT_HOLD_HOURS).await?;
    let b = base(&state, lang, &session, "placement/requests").await?;
    let items: Vec<Value> = out
        .items
        .iter()
        .map(|i| {
            context! {
                id => i.request_id, case => i.case_number.clone(), outcome => i.outcome.clone(),
                reason => i.reason.as_ref().map(|r| tr(lang, r)),
                segments => i.segments.iter().map(|s| context! { facility => s.bed.facility_name.clone(), room => s.bed.room_name.clone(), bed => s.bed.bed_name.clone(), from => s.from.clone(), to => s.to.clone(), hub_room => s.bed.hub_room }).collect::<Vec<_>>(),
            }
        })
        .collect();
    page(
        "placement_batch.html",
        b,
        context! { w => words(lang), out => context! { proposed => out.proposed, unplaced => out.unplaced, requests => out.requests, hub_nights => out.hub_nights, community_nights => out.community_nights, status => out.status, seconds => format!("{:.2}", out.seconds) }, items },
    )
}

#[derive(Deserialize, Default)]
struct FiguresQuery {
    #[serde(default)]
    fiscal_year: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    encoding: String,
}

async fn figures_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<FiguresQuery>,
) -> PageResult {
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let m = session.user.municipality_id;
    if !q.format.is_empty() {
        return Ok(figures_response(&state.db, m, fy, &q.format, &q.encoding, lang).await?);
    }
    let f = crate::placement::figures::figures(&state.db, m, fy).await?;
    let b = base(&state, lang, &session, "placement/figures").await?;
    let row = |r: &crate::placement::figures::Row| {
        // A bar of the community share, drawn as text so it reads without colour.
        let share = r
            .community_share
            .map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or_else(|| "―".into());
        let width = r
            .community_share
            .map(|s| (s * 100.0).round() as u32)
            .unwrap_or(0);
        let placement_share = r
            .community_placement_share
            .map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or_else(|| "―".into());
        context! { label => r.label.clone(), consultations => r.consultations, preventive => r.preventive, placements => r.placements, hub_placements => r.hub_placements, community_placements => r.community_placements, placement_share, nights => r.nights, hub_nights => r.hub_nights, community_nights => r.community_nights, share, width }
    };
    page(
        "placement_figures.html",
        b,
        context! {
            w => words(lang), fiscal_year => fy.year(), label => if lang == Lang::Ja { fy.label_ja() } else { fy.label_en() },
            months => f.months.iter().map(row).collect::<Vec<_>>(), facilities => f.facilities.iter().map(row).collect::<Vec<_>>(), total => row(&f.total),
            can_hub => session.user.role.can_handle_placements(),
        },
    )
}

/// An answer typed into a form (`accept` 1 or 0, `reason_code`, `reason`).
fn answer_of(
    form: &std::collections::HashMap<String, String>,
) -> Result<crate::placement::declines::ValidAnswer, Error> {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    crate::placement::declines::parse_answer(
        field("accept") == "1",
        field("reason_code"),
        field("reason"),
    )
    .map_err(Error::Validation)
}

/// The decline reasons offered on the answer forms.
fn decline_reasons(lang: Lang) -> Vec<Value> {
    crate::placement::declines::DeclineReason::ALL
        .into_iter()
        .map(|r| context! { slug => r.slug(), label => r.label().get(lang) })
        .collect()
}

/// The facilities' answers of a fiscal year and their decline reasons (hub staff and
/// administrators: the facilities' own words), as a page or CSV/XLSX.
async fn declines_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<FiguresQuery>,
) -> PageResult {
    let user = session.user.require_hub()?;
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let m = user.municipality_id;
    let json = q.format.is_empty();
    let (format, encoding) = crate::api::parse_file_format(&q.format, &q.encoding)?;
    let v = crate::api::placement::declines_of(&state.db, m, fy).await?;
    if !json {
        let bytes = crate::placement::declines::export(&v, lang, format, encoding)?;
        return Ok(crate::api::download(
            bytes,
            format,
            encoding,
            &format!("placement-declines-{}", fy.year()),
        ));
    }
    let b = base(&state, lang, &session, "placement/figures").await?;
    let reasons = |rs: &[crate::placement::declines::ReasonCount]| {
        rs.iter()
            .map(|r| context! { label => r.label.get(lang), count => r.count })
            .collect::<Vec<_>>()
    };
    let facilities: Vec<Value> = v
        .facilities
        .iter()
        .map(|f| {
            context! {
                id => f.facility_id, name => f.facility.clone(), kind => f.kind_label.get(lang),
                proposals => f.proposals, accepted => f.accepted, declined => f.declined, expired => f.expired, waiting => f.waiting, other => f.other,
                reasons => reasons(&f.reasons),
                declines => f.declines.iter().map(|d| context! { on => d.answered_on.clone(), case => d.case_number.clone(), reason => d.reason_label.get(lang), note => d.note.clone(), from => d.from.clone(), to => d.to.clone(), needs => d.needs.get(lang) }).collect::<Vec<_>>(),
            }
        })
        .collect();
    page(
        "placement_declines.html",
        b,
        context! {
            w => words(lang), fiscal_year => fy.year(), label => if lang == Lang::Ja { fy.label_ja() } else { fy.label_en() },
            facilities, reasons => reasons(&v.reasons), proposals => v.proposals, declined => v.declined,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The facility's own page, reached through its no-login link.

async fn facility_of(db: &Db, token: &str) -> Result<(MunicipalityId, FacilityRow), Error> {
    let (m, id) = db.facility_by_link(token).await?.ok_or_else(|| {
        Error::NotFound(Msg::new(
            "このリンクは無効です（新しいリンクが発行された可能性があります）。拠点に連絡してください",
            "this link is not valid (a newer one may have been issued); contact the hub",
        ))
    })?;
    Ok((m, db.facility(m, id).await?))
}

async fn facility_page(
    State(state): State<AppState>,
    LinkLang(lang): LinkLang,
    Path(token): Path<String>,
) -> PageResult {
    let (m, f) = facility_of(&state.db, &token).await?;
    let nights = crate::placement::nights_from(jst_date(Utc::now()), 14);
    let taken = state.db.board(m, nights).await?;
    let rows = grid(lang, std::slice::from_ref(&f), &taken, nights, &[], false);
    let holds: Vec<Value> = state
        .db
        .facility_holds(m, f.id)
        .await?
        .into_iter()
        .filter(|h| h.status == "held")
        .map(|h| context! { id => h.id, case => h.case_number, room => h.room_name, bed => h.bed_name, from => h.from, to => h.to, expires => local_time(&h.expires_at) })
        .collect();
    let html = super::templates::render(
        "placement_facility.html",
        context! {
            lang => lang.code(), w => words(lang), token, facility => rows.into_iter().next(), holds, decline_reasons => decline_reasons(lang),
            other_lang => match lang { Lang::Ja => "en", Lang::En => "ja" }, contact => state.config.contact(),
            nights => nights.iter().enumerate().map(|(i, n)| night_heading(lang, n, i == 0)).collect::<Vec<_>>(),
            beds => f.beds().map(|(_, b)| b.id).collect::<Vec<_>>(),
        },
    )?;
    Ok(axum::response::Html(html).into_response())
}

async fn facility_submit(
    State(state): State<AppState>,
    LinkLang(lang): LinkLang,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let (m, f) = facility_of(&state.db, &token).await?;
    let pairs = form_pairs(&body);
    let actor = || Actor::FacilityLink {
        facility_name: f.name.clone(),
    };
    let form = form_map(&pairs);
    if let Some(hold) = form.get("hold") {
        let hold = parse_id(hold)?;
        let answer = answer_of(&form)?;
        // Only this facility's holds can be answered through its link.
        if !state
            .db
            .facility_holds(m, f.id)
            .await?
            .iter()
            .any(|h| h.id == hold)
        {
            return Err(Error::not_found("打診", "proposal").into());
        }
        state.db.answer_hold_with(m, actor(), hold, &answer).await?;
    } else {
        // The grid: every shown bed-night is set to what was ticked (held and placed nights
        // are not in the form and stay as they are).
        let nights = crate::placement::nights_from(jst_date(Utc::now()), 14);
        let taken: HashSet<(i64, String)> = state
            .db
            .board(m, nights)
            .await?
            .into_iter()
            .filter(|t| t.state == "occupied")
            .map(|t| (t.bed_id, t.night))
            .collect();
        let ticked: HashSet<(i64, String)> = pairs
            .iter()
            .filter(|(k, _)| k == "occupied")
            .filter_map(|(_, v)| {
                v.split_once(':')
                    .and_then(|(b, n)| Some((b.parse().ok()?, n.to_string())))
            })
            .collect();
        let mut items = Vec::new();
        for (_, bed) in f.beds() {
            for n in nights.iter() {
                let key = (bed.id, n.to_string());
                let want = ticked.contains(&key);
                if want != taken.contains(&key) {
                    items.push(crate::placement::ValidOccupancy {
                        bed_id: bed.id,
                        nights: Nights::new(n, n.succ_opt().unwrap_or(n)),
                        occupied: want,
                        sex: None,
                    });
                }
            }
        }
        state.db.set_occupancy(m, actor(), f.id, &items).await?;
    }
    Ok(Redirect::to(&format!("/facility/{token}?lang={}", lang.code())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use renkei_solver::placement::model::Sex;

    #[test]
    fn a_board_filter_without_sex_keeps_beds_for_either_sex() {
        let q = BoardQuery {
            wheelchair: Some("1".into()),
            ..BoardQuery::default()
        };
        let sexes: Vec<Sex> = q.needs().iter().map(|n| n.sex).collect();
        assert_eq!(sexes, vec![Sex::Male, Sex::Female]);
        assert!(q.needs().iter().all(|n| n.wheelchair));
        let q = BoardQuery {
            sex: "female".into(),
            ..BoardQuery::default()
        };
        assert_eq!(q.needs().len(), 1);
        assert!(
            BoardQuery::default().needs().is_empty(),
            "no filter, no needs"
        );
    }
}

/// Asks a facility by mail to confirm its vacancies (the mail carries a fresh no-login link).
async fn vacancy_request_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    let user = session.user.require_hub()?;
    let id = parse_id(&id)?;
    state.db.request_vacancy_update(user, id).await?;
    Ok(Redirect::to("/placement?asked=1").into_response())
}
