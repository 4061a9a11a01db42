//! The demo dataset: a fictional city, みらい市, shaped like the Kumamoto documents (5 wards,
//! 1 core center plus 8 consultation-support centers, 8 consultation offices per ward, two
//! sections per ward office, hospitals, the community life support hub and short-stay / group
//! home facilities), with the people, venues and rooms a quarterly plan needs.
//!
//! Everything here is invented. Names are common family and given names paired by hand so that
//! no pair is a well-known person; emails are under `example.jp` (reserved by JPRS); phone
//! numbers are `099-0XX-XXXX`, and Japanese subscriber numbers never start with 0, so none can
//! ring anyone. The function is pure: the same call always returns the same data.

use std::collections::HashMap;

use crate::master::{split_list, OrganisationInput, PersonInput, RoomInput, VenueInput};

pub struct DemoDataset {
    pub municipality_code: &'static str,
    pub municipality_name: &'static str,
    pub municipality_name_en: &'static str,
    pub organisations: Vec<OrganisationInput>,
    pub people: Vec<PersonInput>,
    pub venues: Vec<VenueInput>,
    pub rooms: Vec<RoomInput>,
    /// Extra municipal closures (臨時休業) beyond holidays and the year-end closure: (date "YYYY-MM-DD", reason)
    pub closures: Vec<(&'static str, &'static str)>,
}

const CITY: &str = "みらい市";
const CITY_KANA: &str = "ミライシ";

/// (ward, kana, code part, romaji, towns used in addresses; the first holds the ward office)
#[rustfmt::skip]
const WARDS: [(&str, &str, &str, &str, [&str; 4]); 5] = [
    ("中央区", "チュウオウク", "CHU", "chuo", ["本町", "桜町", "城見町", "新町"]),
    ("東区", "ヒガシク", "HIG", "higashi", ["日の出町", "若葉", "朝日台", "東野"]),
    ("西区", "ニシク", "NIS", "nishi", ["夕陽ヶ丘", "港町", "西原", "松風"]),
    ("南区", "ミナミク", "MIN", "minami", ["緑町", "南台", "川辺", "花園"]),
    ("北区", "キタク", "KIT", "kita", ["北山", "青葉台", "泉町", "星が丘"]),
];

/// Staff of the core center: (roles, qualifications, part-time days), `;`-separated.
#[rustfmt::skip]
const CORE_STAFF: [(&str, &str, &str); 6] = [
    ("センター長", "主任相談支援専門員;社会福祉士", ""),
    ("機能強化員", "主任相談支援専門員;精神保健福祉士", ""),
    ("機能強化員", "主任相談支援専門員;社会福祉士", ""),
    ("地域支援員", "相談支援専門員;社会福祉士", ""),
    ("相談支援専門員;権利擁護担当", "相談支援専門員;精神保健福祉士", ""),
    ("地域支援員", "保健師;看護師", "mon;wed;thu"),
];

/// Consultation-support centers: (code, ward index, name suffix in hiragana, domain, has a
/// センター長 on the roster, part-time days of its 地域支援員).
#[rustfmt::skip]
const CENTERS: [(&str, usize, &str, &str, bool, &str); 8] = [
    ("C-CHU-1", 0, "こもれび", "komorebi", false, ""),
    ("C-HIG-1", 1, "あさひ", "asahi", true, ""),
    ("C-HIG-2", 1, "ひのき", "hinoki", false, ""),
    ("C-NIS-1", 2, "ゆうなぎ", "yunagi", false, ""),
    ("C-NIS-2", 2, "みなと", "minato", false, "tue;thu"),
    ("C-MIN-1", 3, "みどり", "midori", true, ""),
    ("C-MIN-2", 3, "かわせみ", "kawasemi", false, ""),
    ("C-KIT-1", 4, "ほくと", "hokuto", false, ""),
];

/// Consultation offices, 8 per ward in ward order: (name suffix in hiragana, domain).
#[rustfmt::skip]
const OFFICES: [(&str, &str); 40] = [
    ("ひだまり", "hidamari"), ("あおば", "aoba"), ("こすもす", "kosumosu"), ("つばさ", "tsubasa"),
    ("わかば", "wakaba"), ("そよかぜ", "soyokaze"), ("なごみ", "nagomi"), ("ぬくもり", "nukumori"),
    ("たんぽぽ", "tanpopo"), ("すずらん", "suzuran"), ("ほほえみ", "hohoemi"), ("きずな", "kizuna"),
    ("にじいろ", "nijiiro"), ("あゆみ", "ayumi"), ("みのり", "minori"), ("かけはし", "kakehashi"),
    ("ひまわり", "himawari"), ("やまびこ", "yamabiko"), ("ともしび", "tomoshibi"), ("はばたき", "habataki"),
    ("のぞみ", "nozomi"), ("ゆうあい", "yuai"), ("あかり", "akari"), ("まごころ", "magokoro"),
    ("せせらぎ", "seseragi"), ("ふれあい", "fureai"), ("よつば", "yotsuba"), ("はるかぜ", "harukaze"),
    ("みちしるべ", "michishirube"), ("おひさま", "ohisama"), ("つむぎ", "tsumugi"), ("あしたば", "ashitaba"),
    ("いろは", "iroha"), ("ことのは", "kotonoha"), ("まどか", "madoka"), ("かざぐるま", "kazaguruma"),
    ("ほしぞら", "hoshizora"), ("めばえ", "mebae"), ("あじさい", "ajisai"), ("しおさい", "shiosai"),
];
/// Office name prefixes, cycled: (name, kana).
const OFFICE_PREFIXES: [(&str, &str); 4] = [
    ("相談支援事業所", "ソウダンシエンジギョウショ"),
    ("ケアプランセンター", "ケアプランセンター"),
    ("指定相談支援事業所", "シテイソウダンシエンジギョウショ"),
    ("相談室", "ソウダンシツ"),
];
/// The first this many offices of each ward have one 相談支援専門員 in the dataset.
const STAFFED_OFFICES_PER_WARD: usize = 4;
const OFFICE_QUALIFICATIONS: [&str; 5] = [
    "相談支援専門員;社会福祉士",
    "相談支援専門員;介護福祉士",
    "相談支援専門員;精神保健福祉士",
    "相談支援専門員",
    "主任相談支援専門員;社会福祉士",
];
/// Part-time second staff of some offices: (office code, qualifications, days).
const OFFICE_PART_TIMERS: [(&str, &str, &str); 3] = [
    ("O-CHU-01", "相談支援専門員;介護福祉士", "mon;wed;fri"),
    ("O-HIG-01", "相談支援専門員", "wed;fri"),
    ("O-MIN-01", "相談支援専門員;社会福祉士", "tue;wed;thu"),
];

/// Hospitals: (code, ward index, name, kana, domain, staff as (roles, qualifications)).
#[allow(clippy::type_complexity)]
#[rustfmt::skip]
const HOSPITALS: [(&str, usize, &str, &str, &str, [(&str, &str); 2]); 2] = [
    (
        "H-01",
        0,
        "みらい市立総合病院",
        "ミライシリツソウゴウビョウイン",
        "mirai-hospital",
        [("医療ソーシャルワーカー", "社会福祉士;精神保健福祉士"), ("看護師", "看護師")],
    ),
    (
        "H-02",
        4,
        "医療法人青嵐会 しらかば病院",
        "イリョウホウジンセイランカイ シラカバビョウイン",
        "shirakaba-hp",
        [("医療ソーシャルワーカー", "精神保健福祉士"), ("看護師", "看護師;保健師")],
    ),
];

const HUB_STAFF: [(&str, &str, &str); 4] = [
    ("拠点コーディネーター", "相談支援専門員;社会福祉士", ""),
    ("生活支援員", "介護福祉士", ""),
    ("生活支援員", "", "mon;tue;fri"),
    ("看護師", "看護師", ""),
];

/// Short-stay facilities and group homes: (code, kind, name prefix, prefix kana, name suffix in
/// hiragana, domain, ward index, staff roles, qualifications, part-time days).
#[allow(clippy::type_complexity)]
#[rustfmt::skip]
const FACILITIES: [(&str, &str, &str, &str, &str, &str, usize, &str, &str, &str); 10] = [
    ("SS-01", "short_stay", "ショートステイ ", "ショートステイ ", "はなみずき", "hanamizuki", 0, "管理者", "社会福祉士", ""),
    ("SS-02", "short_stay", "短期入所事業所 ", "タンキニュウショジギョウショ ", "やすらぎ", "yasuragi", 1, "生活支援員", "介護福祉士", ""),
    ("SS-03", "short_stay", "ショートステイ ", "ショートステイ ", "あけぼの", "akebono", 2, "管理者", "看護師", ""),
    ("SS-04", "short_stay", "短期入所事業所 ", "タンキニュウショジギョウショ ", "なのはな", "nanohana", 3, "生活支援員", "", ""),
    ("SS-05", "short_stay", "ショートステイ ", "ショートステイ ", "しらさぎ", "shirasagi", 4, "管理者", "介護福祉士", ""),
    ("GH-01", "group_home", "グループホーム ", "グループホーム ", "ひなた", "hinata", 0, "サービス管理責任者", "相談支援専門員", ""),
    ("GH-02", "group_home", "グループホーム ", "グループホーム ", "もみじ", "momiji", 1, "サービス管理責任者", "介護福祉士", ""),
    ("GH-03", "group_home", "グループホーム ", "グループホーム ", "かえで", "kaede", 2, "世話人", "", "mon;wed;thu"),
    ("GH-04", "group_home", "グループホーム ", "グループホーム ", "つくし", "tsukushi", 3, "サービス管理責任者", "社会福祉士", ""),
    ("GH-05", "group_home", "グループホーム ", "グループホーム ", "さざなみ", "sazanami", 4, "サービス管理責任者", "精神保健福祉士", ""),
];

/// 80 people, assigned in order to the roster the function builds: (family, kana, romaji,
/// given, kana, romaji).
#[rustfmt::skip]
const NAMES: [(&str, &str, &str, &str, &str, &str); 89] = [
    ("佐藤", "サトウ", "sato", "美穂", "ミホ", "miho"),
    ("鈴木", "スズキ", "suzuki", "健一", "ケンイチ", "kenichi"),
    ("高橋", "タカハシ", "takahashi", "美和", "ミワ", "miwa"),
    ("田中", "タナカ", "tanaka", "誠", "マコト", "makoto"),
    ("伊藤", "イトウ", "ito", "直子", "ナオコ", "naoko"),
    ("渡辺", "ワタナベ", "watanabe", "公平", "コウヘイ", "kohei"),
    ("山本", "ヤマモト", "yamamoto", "恵美", "エミ", "emi"),
    ("中村", "ナカムラ", "nakamura", "浩二", "コウジ", "koji"),
    ("小林", "コバヤシ", "kobayashi", "早苗", "サナエ", "sanae"),
    ("加藤", "カトウ", "kato", "隆", "タカシ", "takashi"),
    ("吉田", "ヨシダ", "yoshida", "千尋", "チヒロ", "chihiro"),
    ("山田", "ヤマダ", "yamada", "修", "オサム", "osamu"),
    ("佐々木", "ササキ", "sasaki", "陽子", "ヨウコ", "yoko"),
    ("山口", "ヤマグチ", "yamaguchi", "拓也", "タクヤ", "takuya"),
    ("松本", "マツモト", "matsumoto", "理恵", "リエ", "rie"),
    ("井上", "イノウエ", "inoue", "哲也", "テツヤ", "tetsuya"),
    ("木村", "キムラ", "kimura", "香織", "カオリ", "kaori"),
    ("林", "ハヤシ", "hayashi", "俊介", "シュンスケ", "shunsuke"),
    ("斎藤", "サイトウ", "saito", "綾", "アヤ", "aya"),
    ("清水", "シミズ", "shimizu", "亮", "リョウ", "ryo"),
    ("山崎", "ヤマザキ", "yamazaki", "真由美", "マユミ", "mayumi"),
    ("森", "モリ", "mori", "和彦", "カズヒコ", "kazuhiko"),
    ("池田", "イケダ", "ikeda", "智子", "トモコ", "tomoko"),
    ("橋本", "ハシモト", "hashimoto", "翔太", "ショウタ", "shota"),
    ("阿部", "アベ", "abe", "明美", "アケミ", "akemi"),
    ("石川", "イシカワ", "ishikawa", "達也", "タツヤ", "tatsuya"),
    ("山下", "ヤマシタ", "yamashita", "沙織", "サオリ", "saori"),
    ("中島", "ナカシマ", "nakashima", "洋平", "ヨウヘイ", "yohei"),
    ("石井", "イシイ", "ishii", "紀子", "ノリコ", "noriko"),
    ("小川", "オガワ", "ogawa", "正樹", "マサキ", "masaki"),
    ("前田", "マエダ", "maeda", "麻美", "アサミ", "asami"),
    ("岡田", "オカダ", "okada", "雄一", "ユウイチ", "yuichi"),
    ("長谷川", "ハセガワ", "hasegawa", "麻衣", "マイ", "mai"),
    ("藤田", "フジタ", "fujita", "健太", "ケンタ", "kenta"),
    ("後藤", "ゴトウ", "goto", "裕子", "ユウコ", "yuko"),
    ("近藤", "コンドウ", "kondo", "剛", "ツヨシ", "tsuyoshi"),
    ("村上", "ムラカミ", "murakami", "佳奈", "カナ", "kana"),
    ("遠藤", "エンドウ", "endo", "聡", "サトシ", "satoshi"),
    ("青木", "アオキ", "aoki", "美紀", "ミキ", "miki"),
    ("坂本", "サカモト", "sakamoto", "大樹", "ダイキ", "daiki"),
    ("福田", "フクダ", "fukuda", "幸子", "サチコ", "sachiko"),
    ("太田", "オオタ", "ota", "和也", "カズヤ", "kazuya"),
    ("西村", "ニシムラ", "nishimura", "久美子", "クミコ", "kumiko"),
    ("藤井", "フジイ", "fujii", "秀樹", "ヒデキ", "hideki"),
    ("金子", "カネコ", "kaneko", "由香", "ユカ", "yuka"),
    ("岡本", "オカモト", "okamoto", "博之", "ヒロユキ", "hiroyuki"),
    ("藤原", "フジワラ", "fujiwara", "瑞穂", "ミズホ", "mizuho"),
    ("中野", "ナカノ", "nakano", "翼", "ツバサ", "tsubasa"),
    ("三浦", "ミウラ", "miura", "弘美", "ヒロミ", "hiromi"),
    ("原田", "ハラダ", "harada", "慎吾", "シンゴ", "shingo"),
    ("中川", "ナカガワ", "nakagawa", "奈々", "ナナ", "nana"),
    ("松田", "マツダ", "matsuda", "圭介", "ケイスケ", "keisuke"),
    ("竹内", "タケウチ", "takeuchi", "恭子", "キョウコ", "kyoko"),
    ("小野", "オノ", "ono", "徹", "トオル", "toru"),
    ("田村", "タムラ", "tamura", "美幸", "ミユキ", "miyuki"),
    ("中山", "ナカヤマ", "nakayama", "純一", "ジュンイチ", "junichi"),
    ("和田", "ワダ", "wada", "友美", "トモミ", "tomomi"),
    ("石田", "イシダ", "ishida", "勇気", "ユウキ", "yuki"),
    ("森田", "モリタ", "morita", "真理", "マリ", "mari"),
    ("上田", "ウエダ", "ueda", "晃", "アキラ", "akira"),
    ("原", "ハラ", "hara", "さやか", "サヤカ", "sayaka"),
    ("内田", "ウチダ", "uchida", "浩", "ヒロシ", "hiroshi"),
    ("柴田", "シバタ", "shibata", "恵子", "ケイコ", "keiko"),
    ("酒井", "サカイ", "sakai", "隼人", "ハヤト", "hayato"),
    ("宮崎", "ミヤザキ", "miyazaki", "彩香", "アヤカ", "ayaka"),
    ("横山", "ヨコヤマ", "yokoyama", "勝", "マサル", "masaru"),
    ("高木", "タカギ", "takagi", "敦子", "アツコ", "atsuko"),
    ("安藤", "アンドウ", "ando", "正人", "マサト", "masato"),
    ("宮本", "ミヤモト", "miyamoto", "涼子", "リョウコ", "ryoko"),
    ("大野", "オオノ", "ohno", "康弘", "ヤスヒロ", "yasuhiro"),
    ("小島", "コジマ", "kojima", "美咲", "ミサキ", "misaki"),
    ("谷口", "タニグチ", "taniguchi", "茂", "シゲル", "shigeru"),
    ("今井", "イマイ", "imai", "千秋", "チアキ", "chiaki"),
    ("工藤", "クドウ", "kudo", "直樹", "ナオキ", "naoki"),
    ("高田", "タカダ", "takada", "理沙", "リサ", "risa"),
    ("増田", "マスダ", "masuda", "進", "ススム", "susumu"),
    ("丸山", "マルヤマ", "maruyama", "望", "ノゾミ", "nozomi"),
    ("杉山", "スギヤマ", "sugiyama", "陽介", "ヨウスケ", "yosuke"),
    ("村田", "ムラタ", "murata", "真紀", "マキ", "maki"),
    ("大塚", "オオツカ", "otsuka", "淳", "ジュン", "jun"),
    ("千葉", "チバ", "chiba", "香織", "カオリ", "kaori"),
    ("岩崎", "イワサキ", "iwasaki", "拓也", "タクヤ", "takuya"),
    ("野口", "ノグチ", "noguchi", "由美", "ユミ", "yumi"),
    ("菅原", "スガワラ", "sugawara", "健", "ケン", "ken"),
    ("久保", "クボ", "kubo", "千尋", "チヒロ", "chihiro"),
    ("松井", "マツイ", "matsui", "大地", "ダイチ", "daichi"),
    ("野村", "ノムラ", "nomura", "彩", "アヤ", "aya"),
    ("桜井", "サクライ", "sakurai", "浩二", "コウジ", "koji"),
    ("菊地", "キクチ", "kikuchi", "明日香", "アスカ", "asuka"),
];

/// Venues other than the ward offices (added after these, one per ward, named 〇〇区役所):
/// (code, name, ward index, opening hours; "" is the default Mon-Fri 8:30-17:30).
#[rustfmt::skip]
const VENUES: [(&str, &str, usize, &str); 5] = [
    ("V-CORE", "みらい市基幹相談支援センター", 0, ""),
    ("V-CITY", "みらい市役所 本庁舎", 0, ""),
    ("V-FUKUSHI", "みらい市総合福祉センター", 1, "mon-fri 09:00-17:00"),
    ("V-SANKAKU", "みらい市男女共同参画センター", 2, "mon-sat 09:00-21:00"),
    ("V-HUB", "地域生活支援拠点 ささえ 交流棟", 3, ""),
];

/// (code, venue code, name, capacity, wheelchair, hearing loop)
#[rustfmt::skip]
const ROOMS: [(&str, &str, &str, i64, bool, bool); 20] = [
    ("R-CORE-1", "V-CORE", "相談室1", 8, true, false),
    ("R-CORE-2", "V-CORE", "会議室", 20, true, false),
    ("R-CITY-1", "V-CITY", "大会議室", 120, true, true),
    ("R-CITY-2", "V-CITY", "第1会議室", 30, true, false),
    ("R-CITY-3", "V-CITY", "第2会議室", 24, true, false),
    ("R-CHU-1", "V-CHU", "第1会議室", 40, true, false),
    ("R-CHU-2", "V-CHU", "第2会議室", 16, true, false),
    ("R-HIG-1", "V-HIG", "大会議室", 60, true, true),
    ("R-HIG-2", "V-HIG", "小会議室", 12, true, false),
    ("R-NIS-1", "V-NIS", "会議室", 36, true, false),
    ("R-MIN-1", "V-MIN", "第1会議室", 30, true, false),
    ("R-MIN-2", "V-MIN", "第2会議室", 18, false, false),
    ("R-KIT-1", "V-KIT", "会議室", 24, true, false),
    ("R-FUK-1", "V-FUKUSHI", "研修室A", 80, true, true),
    ("R-FUK-2", "V-FUKUSHI", "研修室B", 40, true, false),
    ("R-FUK-3", "V-FUKUSHI", "ボランティア室", 12, true, false),
    ("R-SAN-1", "V-SANKAKU", "ホール", 100, true, true),
    ("R-SAN-2", "V-SANKAKU", "セミナー室", 36, true, false),
    ("R-SAN-3", "V-SANKAKU", "和室", 15, false, false),
    ("R-HUB-1", "V-HUB", "多目的室", 10, true, false),
];

/// FY2026 (令和8年度) closures; all are weekdays that are neither holidays nor in Dec 29 - Jan 3.
const CLOSURES: [(&str, &str); 3] = [
    ("2026-08-14", "庁舎電気設備法定点検(全館停電)"),
    ("2026-11-27", "基幹系システム更新作業"),
    ("2027-01-29", "庁舎消防設備点検"),
];

/// Hiragana to katakana (other characters unchanged), for kana derived from hiragana names.
fn katakana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A fictional street address; `k` varies the town and numbers (distinct for k < 390, and never
/// the city hall's 1-1-1 or a ward office's 3-1-1 in the first town).
fn address(ward: usize, k: usize) -> String {
    let (name, _, _, _, towns) = WARDS[ward];
    let k = k + 1;
    format!(
        "{CITY}{name}{}{}-{}-{}",
        towns[k % 4],
        1 + k % 5,
        1 + (k * 7) % 23,
        1 + (k * 11) % 17
    )
}

fn ward_office_address(ward: usize) -> String {
    let (name, _, _, _, towns) = WARDS[ward];
    format!("{CITY}{name}{}3-1-1", towns[0])
}

pub fn demo_dataset() -> DemoDataset {
    let mut organisations: Vec<OrganisationInput> = Vec::new();
    // organisation code -> mail domain, for the staff's addresses
    let mut domains: HashMap<String, String> = HashMap::new();
    let mut add_org = |code: String,
                       name: String,
                       kana: String,
                       kind: &str,
                       ward: usize,
                       addr: Option<String>,
                       mail: String| {
        let k = organisations.len();
        let domain = mail
            .split_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        domains.insert(code.clone(), domain);
        organisations.push(OrganisationInput {
            code,
            name,
            kana,
            kind: kind.to_string(),
            ward: WARDS[ward].0.to_string(),
            address: addr.unwrap_or_else(|| address(ward, k)),
            // Subscriber numbers starting with 0 are never assigned: these reach no one.
            phone: format!("099-0{}{}-{:04}", ward + 1, k % 10, 1000 + 7 * k),
            email: mail,
        });
    };
    // Roster: (organisation code, roles, qualifications, part-time days), one entry a person.
    let mut roster: Vec<(String, &str, &str, &str)> = Vec::new();

    add_org(
        "CORE".into(),
        format!("{CITY}基幹相談支援センター"),
        format!("{CITY_KANA}キカンソウダンシエンセンター"),
        "core_center",
        0,
        None,
        "info@mirai-kikan.example.jp".into(),
    );
    for (roles, quals, days) in CORE_STAFF {
        roster.push(("CORE".into(), roles, quals, days));
    }

    for (i, (code, ward, suffix, domain, has_lead, days)) in CENTERS.into_iter().enumerate() {
        add_org(
            code.into(),
            format!("障がい者相談支援センター{suffix}"),
            format!("ショウガイシャソウダンシエンセンター{}", katakana(suffix)),
            "consultation_center",
            ward,
            None,
            format!("soudan@{domain}-center.example.jp"),
        );
        if has_lead {
            roster.push((
                code.into(),
                "センター長;相談支援専門員",
                "主任相談支援専門員;社会福祉士",
                "",
            ));
        }
        let strengthening = ["相談支援専門員;社会福祉士", "相談支援専門員;精神保健福祉士"][i % 2];
        let community = ["社会福祉士", "精神保健福祉士", "社会福祉士;介護福祉士"][i % 3];
        roster.push((code.into(), "機能強化員", strengthening, ""));
        roster.push((code.into(), "地域支援員", community, days));
    }

    for (w, (ward, ward_kana, wcode, romaji, _)) in WARDS.into_iter().enumerate() {
        let welfare = format!("W-{wcode}-FUKUSHI");
        add_org(
            welfare.clone(),
            format!("{ward}役所 福祉課"),
            format!("{ward_kana}ヤクショ フクシカ"),
            "ward_section",
            w,
            Some(ward_office_address(w)),
            format!("{romaji}-fukushi@city-mirai.example.jp"),
        );
        roster.push((welfare.clone(), "係長", "社会福祉士", ""));
        roster.push((
            welfare,
            "ケースワーカー",
            ["社会福祉士", "精神保健福祉士"][w % 2],
            "",
        ));
        let health = format!("W-{wcode}-HOKEN");
        add_org(
            health.clone(),
            format!("{ward}役所 保健子ども課"),
            format!("{ward_kana}ヤクショ ホケンコドモカ"),
            "ward_section",
            w,
            Some(ward_office_address(w)),
            format!("{romaji}-hoken@city-mirai.example.jp"),
        );
        roster.push((
            health,
            "保健師",
            "保健師;看護師",
            if w == 4 { "mon;tue;wed;thu" } else { "" },
        ));
    }

    for (i, (suffix, domain)) in OFFICES.into_iter().enumerate() {
        let (w, n) = (i / 8, i % 8);
        let code = format!("O-{}-{:02}", WARDS[w].2, n + 1);
        let (prefix, prefix_kana) = OFFICE_PREFIXES[i % OFFICE_PREFIXES.len()];
        add_org(
            code.clone(),
            format!("{prefix}{suffix}"),
            format!("{prefix_kana}{}", katakana(suffix)),
            "consultation_office",
            w,
            None,
            format!("info@{domain}.example.jp"),
        );
        if n < STAFFED_OFFICES_PER_WARD {
            let quals = OFFICE_QUALIFICATIONS
                [(w * STAFFED_OFFICES_PER_WARD + n) % OFFICE_QUALIFICATIONS.len()];
            roster.push((code.clone(), "相談支援専門員", quals, ""));
        }
        for (office, quals, days) in OFFICE_PART_TIMERS {
            if office == code {
                roster.push((code.clone(), "相談支援専門員", quals, days));
            }
        }
    }

    for (code, ward, name, kana, domain, staff) in HOSPITALS {
        add_org(
            code.into(),
            name.into(),
            kana.into(),
            "hospital",
            ward,
            None,
            format!("renkei@{domain}.example.jp"),
        );
        for (roles, quals) in staff {
            roster.push((code.into(), roles, quals, ""));
        }
    }

    add_org(
        "HUB".into(),
        format!("{CITY}地域生活支援拠点 ささえ"),
        format!("{CITY_KANA}チイキセイカツシエンキョテン ササエ"),
        "hub",
        3,
        None,
        "kyoten@sasae.example.jp".into(),
    );
    for (roles, quals, days) in HUB_STAFF {
        roster.push(("HUB".into(), roles, quals, days));
    }

    for (code, kind, prefix, prefix_kana, suffix, domain, ward, roles, quals, days) in FACILITIES {
        add_org(
            code.into(),
            format!("{prefix}{suffix}"),
            format!("{prefix_kana}{}", katakana(suffix)),
            kind,
            ward,
            None,
            format!("info@{domain}.example.jp"),
        );
        roster.push((code.into(), roles, quals, days));
    }

    // The centers' consultation workers (相談員, 委託相談): one each, one more in 西区
    // (Kumamoto: 「西区のみ相談員1名増」). Last on the roster, so that everyone else keeps
    // their demo name.
    for (code, ..) in CENTERS {
        let extra = usize::from(code == "C-NIS-1");
        for _ in 0..=extra {
            roster.push((code.into(), "相談員", "相談支援専門員", ""));
        }
    }

    assert_eq!(
        roster.len(),
        NAMES.len(),
        "the demo roster and the name list must be the same length"
    );
    let mut people: Vec<PersonInput> = roster
        .into_iter()
        .zip(NAMES)
        .enumerate()
        .map(
            |(
                i,
                (
                    (org, roles, quals, days),
                    (family, family_kana, family_en, given, given_kana, given_en),
                ),
            )| PersonInput {
                code: format!("P{:03}", i + 1),
                name: format!("{family} {given}"),
                kana: format!("{family_kana} {given_kana}"),
                email: format!("{given_en}.{family_en}@{}", domains[&org]),
                organisation_code: org,
                roles: split_list(roles),
                qualifications: split_list(quals),
                part_time_days: split_list(days),
                ..Default::default()
            },
        )
        .collect();

    // Two external supervisors (外部講師・スーパーバイザー, Meguro 002: 「スーパーバイザーは、
    // 常勤配置ではなく…行政、関係機関、外部を含め、参加(報酬)を依頼する」) from the hospitals,
    // with the days they can come over this fiscal year and the next (the demo's plans).
    let this_year = renkei_solver::calendar::FiscalYear::of(renkei_solver::calendar::jst_date(
        chrono::Utc::now(),
    ));
    let next_year =
        renkei_solver::calendar::FiscalYear::of(this_year.end() + chrono::Duration::days(1));
    let span = format!("{}..{}", this_year.start(), next_year.end());
    for (org, name, kana, email, roles, quals, availability) in [
        (
            "H-01",
            "大森 玲子",
            "オオモリ レイコ",
            "reiko.omori",
            "スーパーバイザー;外部講師",
            "精神保健福祉士;社会福祉士",
            format!("{span} tue,thu 13:00-17:00"),
        ),
        (
            "H-02",
            "西條 拓也",
            "サイジョウ タクヤ",
            "takuya.saijo",
            "スーパーバイザー",
            "公認心理師",
            format!("{span} wed 09:00-12:00; {span} mon,fri 13:30-17:00"),
        ),
    ] {
        people.push(PersonInput {
            code: format!("P{:03}", people.len() + 1),
            name: name.into(),
            kana: kana.into(),
            email: format!("{email}@{}", domains[org]),
            organisation_code: org.into(),
            roles: split_list(roles),
            qualifications: split_list(quals),
            external: true,
            availability,
            ..Default::default()
        });
    }

    let core_address = organisations[0].address.clone();
    let mut venues: Vec<VenueInput> = VENUES
        .into_iter()
        .enumerate()
        .map(|(k, (code, name, ward, hours))| VenueInput {
            code: code.into(),
            name: name.into(),
            ward: WARDS[ward].0.into(),
            address: match code {
                "V-CORE" => core_address.clone(),
                "V-CITY" => format!("{CITY}{}{}1-1-1", WARDS[0].0, WARDS[0].4[0]),
                _ => address(ward, 50 + k),
            },
            opening_hours: hours.into(),
        })
        .collect();
    venues.extend(
        WARDS
            .into_iter()
            .enumerate()
            .map(|(w, (ward, _, wcode, _, _))| VenueInput {
                code: format!("V-{wcode}"),
                name: format!("{ward}役所"),
                ward: ward.into(),
                address: ward_office_address(w),
                opening_hours: String::new(),
            }),
    );

    let rooms = ROOMS
        .into_iter()
        .map(
            |(code, venue, name, capacity, wheelchair, hearing_loop)| RoomInput {
                code: code.into(),
                venue_code: venue.into(),
                name: name.into(),
                capacity,
                wheelchair,
                hearing_loop,
            },
        )
        .collect();

    DemoDataset {
        municipality_code: "demo",
        municipality_name: CITY,
        municipality_name_en: "Mirai City (demo)",
        organisations,
        people,
        venues,
        rooms,
        closures: CLOSURES.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use chrono::{Datelike, NaiveDate};

    use super::*;
    use crate::master::{OrgKind, ValidOrganisation, ValidPerson};

    fn orgs_and_people(d: &DemoDataset) -> (Vec<ValidOrganisation>, Vec<ValidPerson>) {
        let orgs = d.organisations.iter().map(|o| o.parse().unwrap()).collect();
        let people = d.people.iter().map(|p| p.parse().unwrap()).collect();
        (orgs, people)
    }

    #[test]
    fn every_record_parses() {
        let d = demo_dataset();
        let mut problems = Vec::new();
        let mut note = |kind: &str, code: &str, errors: Vec<crate::master::FieldError>| {
            for e in errors {
                problems.push(format!(
                    "{kind} {code}: {}: {} / {}",
                    e.field, e.message.ja, e.message.en
                ));
            }
        };
        for o in &d.organisations {
            if let Err(e) = o.parse() {
                note("organisation", &o.code, e);
            }
        }
        for p in &d.people {
            if let Err(e) = p.parse() {
                note("person", &p.code, e);
            }
        }
        for v in &d.venues {
            if let Err(e) = v.parse() {
                note("venue", &v.code, e);
            }
        }
        for r in &d.rooms {
            if let Err(e) = r.parse() {
                note("room", &r.code, e);
            }
        }
        assert!(
            problems.is_empty(),
            "invalid demo records:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn codes_are_unique_and_references_resolve() {
        let d = demo_dataset();
        fn unique<'a>(kind: &str, codes: impl Iterator<Item = &'a String>) -> HashSet<&'a str> {
            let mut seen = HashSet::new();
            for c in codes {
                assert!(seen.insert(c.as_str()), "duplicate {kind} code {c}");
            }
            seen
        }
        let orgs = unique("organisation", d.organisations.iter().map(|o| &o.code));
        unique("person", d.people.iter().map(|p| &p.code));
        let venues = unique("venue", d.venues.iter().map(|v| &v.code));
        unique("room", d.rooms.iter().map(|r| &r.code));
        for p in &d.people {
            assert!(
                orgs.contains(p.organisation_code.as_str()),
                "{} belongs to unknown {}",
                p.code,
                p.organisation_code
            );
        }
        for r in &d.rooms {
            assert!(
                venues.contains(r.venue_code.as_str()),
                "room {} in unknown venue {}",
                r.code,
                r.venue_code
            );
        }
        for (i, p) in d.people.iter().enumerate() {
            assert_eq!(p.code, format!("P{:03}", i + 1));
        }
        let emails: Vec<&String> = d
            .people
            .iter()
            .map(|p| &p.email)
            .chain(d.organisations.iter().map(|o| &o.email))
            .collect();
        unique("email", emails.iter().copied());
        for e in emails {
            assert!(
                e.ends_with(".example.jp")
                    || e.ends_with("@example.jp")
                    || e.ends_with("example.com"),
                "{e}"
            );
        }
        let phones: HashSet<&str> = d.organisations.iter().map(|o| o.phone.as_str()).collect();
        assert_eq!(phones.len(), d.organisations.len(), "phone numbers repeat");
        // Addresses are shared only by a ward office (its 2 sections and the venue) and by the
        // core center (the organisation and its venue).
        let mut addresses: HashMap<&str, usize> = HashMap::new();
        for a in d
            .organisations
            .iter()
            .map(|o| &o.address)
            .chain(d.venues.iter().map(|v| &v.address))
        {
            *addresses.entry(a.as_str()).or_default() += 1;
        }
        let core = d.organisations[0].address.as_str();
        for (a, n) in addresses {
            let expected = if a.ends_with("3-1-1") {
                3
            } else if a == core {
                2
            } else {
                1
            };
            assert_eq!(n, expected, "address {a}");
        }
    }

    #[test]
    fn shaped_like_kumamoto() {
        let d = demo_dataset();
        let (orgs, people) = orgs_and_people(&d);
        let of_kind = |k: OrgKind| orgs.iter().filter(|o| o.kind == k).collect::<Vec<_>>();

        let wards: HashSet<&str> = orgs.iter().map(|o| o.ward.as_str()).collect();
        assert_eq!(wards.len(), 5, "{wards:?}");
        assert_eq!(of_kind(OrgKind::CoreCenter).len(), 1);
        assert_eq!(of_kind(OrgKind::ConsultationCenter).len(), 8);
        let offices = of_kind(OrgKind::ConsultationOffice);
        assert!(
            (35..=45).contains(&offices.len()),
            "{} offices",
            offices.len()
        );
        for w in &wards {
            assert_eq!(
                offices.iter().filter(|o| o.ward == *w).count(),
                8,
                "offices in {w}"
            );
            assert_eq!(
                of_kind(OrgKind::WardSection)
                    .iter()
                    .filter(|o| o.ward == *w)
                    .count(),
                2,
                "sections in {w}"
            );
        }
        assert_eq!(of_kind(OrgKind::Hospital).len(), 2);
        assert_eq!(of_kind(OrgKind::Hub).len(), 1);
        let facilities = of_kind(OrgKind::ShortStay).len() + of_kind(OrgKind::GroupHome).len();
        assert!((8..=12).contains(&facilities), "{facilities} facilities");

        // The municipality's own staff; besides them, two external supervisors with the days
        // they can come (Meguro 002: 「スーパーバイザーは…外部を含め、参加(報酬)を依頼する」).
        let staff = people.iter().filter(|p| !p.external).count();
        assert!((70..=90).contains(&staff), "{staff} people");
        let external: Vec<_> = people.iter().filter(|p| p.external).collect();
        assert_eq!(external.len(), 2);
        assert!(
            external
                .iter()
                .all(|p| !p.availability.is_empty()
                    && p.roles.iter().any(|r| r == "スーパーバイザー"))
        );
        let staff_of = |code: &str| {
            people
                .iter()
                .filter(|p| p.organisation_code.as_deref() == Some(code))
                .collect::<Vec<_>>()
        };
        let has_role = |p: &ValidPerson, r: &str| p.roles.iter().any(|x| x == r);
        let centers: Vec<_> = orgs
            .iter()
            .filter(|o| matches!(o.kind, OrgKind::CoreCenter | OrgKind::ConsultationCenter))
            .collect();
        assert_eq!(centers.len(), 9);
        let mut seniors = 0;
        for c in &centers {
            let staff = staff_of(&c.code);
            assert!(
                staff.iter().any(|p| has_role(p, "機能強化員")),
                "{} has no 機能強化員",
                c.code
            );
            assert!(
                staff.iter().any(|p| has_role(p, "地域支援員")),
                "{} has no 地域支援員",
                c.code
            );
            seniors += staff
                .iter()
                .filter(|p| p.qualifications.iter().any(|q| q == "主任相談支援専門員"))
                .count();
        }
        assert!(seniors >= 3, "{seniors} 主任相談支援専門員 at the centers");
        assert!((5..=7).contains(&staff_of("CORE").len()));
        for s in of_kind(OrgKind::WardSection) {
            assert!(
                (1..=2).contains(&staff_of(&s.code).len()),
                "{} staff",
                s.code
            );
        }
        let staffed_offices = offices
            .iter()
            .filter(|o| !staff_of(&o.code).is_empty())
            .count();
        assert!(
            (15..=25).contains(&staffed_offices),
            "{staffed_offices} offices with staff"
        );
        let part_time = people
            .iter()
            .filter(|p| !p.part_time_days.is_empty())
            .count();
        assert!(
            (6..=10).contains(&part_time),
            "{part_time} part-time people"
        );

        assert!(
            (8..=12).contains(&d.venues.len()),
            "{} venues",
            d.venues.len()
        );
        assert!(
            (18..=24).contains(&d.rooms.len()),
            "{} rooms",
            d.rooms.len()
        );
        let caps: Vec<i64> = d.rooms.iter().map(|r| r.capacity).collect();
        assert_eq!(
            (caps.iter().min(), caps.iter().max()),
            (Some(&8), Some(&120))
        );
        let mut hours: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &d.venues {
            *hours.entry(v.opening_hours.as_str()).or_default() += 1;
        }
        assert_eq!(hours.get("mon-fri 09:00-17:00"), Some(&1));
        assert_eq!(hours.get("mon-sat 09:00-21:00"), Some(&1));
        assert_eq!(hours.get(""), Some(&(d.venues.len() - 2)));
    }

    #[test]
    fn names_are_varied_and_kana_is_katakana() {
        let d = demo_dataset();
        let families: HashSet<&str> = d
            .people
            .iter()
            .map(|p| p.name.split(' ').next().unwrap())
            .collect();
        assert_eq!(families.len(), d.people.len());
        let names: HashSet<&str> = d.people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), d.people.len());
        for p in &d.people {
            assert_eq!(p.kana.matches(' ').count(), 1, "{}", p.kana);
            assert!(
                p.kana
                    .chars()
                    .all(|c| c == ' ' || ('\u{30A1}'..='\u{30FC}').contains(&c)),
                "{}",
                p.kana
            );
        }
        for o in &d.organisations {
            assert!(
                !o.kana
                    .chars()
                    .any(|c| ('\u{3041}'..='\u{3096}').contains(&c)),
                "hiragana in {}",
                o.kana
            );
        }
    }

    #[test]
    fn closures_are_plain_weekdays_of_fy2026() {
        // FY2026 national holidays, substitute and citizens' holidays.
        let holidays = [
            "2026-04-29",
            "2026-05-03",
            "2026-05-04",
            "2026-05-05",
            "2026-05-06",
            "2026-07-20",
            "2026-08-11",
            "2026-09-21",
            "2026-09-22",
            "2026-09-23",
            "2026-10-12",
            "2026-11-03",
            "2026-11-23",
            "2027-01-01",
            "2027-01-11",
            "2027-02-11",
            "2027-02-23",
            "2027-03-21",
            "2027-03-22",
        ];
        let d = demo_dataset();
        assert!((2..=3).contains(&d.closures.len()));
        for (date, reason) in &d.closures {
            let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            assert!(!reason.is_empty());
            assert!(
                day >= NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
                    && day <= NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()
            );
            assert!(
                day.weekday().num_days_from_monday() < 5,
                "{date} is a weekend"
            );
            assert!(!holidays.contains(date), "{date} is a holiday");
            let (m, dd) = (day.month(), day.day());
            assert!(
                !((m == 12 && dd >= 29) || (m == 1 && dd <= 3)),
                "{date} is in the year-end closure"
            );
        }
    }

    #[test]
    fn deterministic() {
        let (a, b) = (demo_dataset(), demo_dataset());
        assert_eq!(
            format!("{:?}", a.organisations),
            format!("{:?}", b.organisations)
        );
        assert_eq!(format!("{:?}", a.people), format!("{:?}", b.people));
        assert_eq!(format!("{:?}", a.venues), format!("{:?}", b.venues));
        assert_eq!(format!("{:?}", a.rooms), format!("{:?}", b.rooms));
        assert_eq!(a.municipality_code, "demo");
    }
}
