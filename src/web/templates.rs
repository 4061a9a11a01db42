//! HTML templates (minijinja, auto-escaped) and the UI's word list in Japanese and English.
//!
//! Templates live in `templates/` and are compiled into the binary, so a deployment is one file.
//! In a template, `t("key")` gives the word for the page's language.

use std::sync::LazyLock;

use minijinja::{Environment, State, Value};

use crate::i18n::Lang;

macro_rules! embed {
    ($env:ident, $($name:literal),* $(,)?) => {
        $( $env.add_template($name, include_str!(concat!("../../templates/", $name))).expect($name); )*
    };
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Auto-escaping is on for *.html by default; never switch it off.
    embed!(
        env,
        "base.html",
        "login.html",
        "home.html",
        "list.html",
        "form.html",
        "calendar.html",
        "transfer.html",
        "audit.html",
        "account.html",
        "error.html",
        "date_range_form.html"
    );
    env.add_function("t", translate);
    env
});

/// Renders a template; a failure is an internal error (templates are part of the binary).
pub fn render(name: &str, ctx: Value) -> Result<String, crate::error::Error> {
    ENV.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| crate::error::Error::Internal(anyhow::anyhow!("template {name}: {e:#}")))
}

fn translate(state: &State, key: &str) -> String {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default();
    word(lang, key).to_string()
}

/// The UI's words. Unknown keys show as themselves, so a missing entry is visible, not blank.
pub fn word(lang: Lang, key: &str) -> &str {
    let (ja, en) = match key {
        "app" => ("renkei 連携", "renkei"),
        "tagline" => ("相談支援ネットワークの日程調整", "Coordination for consultation-support networks"),
        "skip" => ("本文へ移動", "Skip to main content"),
        "nav" => ("メインメニュー", "Main menu"),
        "home" => ("ホーム", "Home"),
        "organisations" => ("機関", "Organisations"),
        "people" => ("人", "People"),
        "venues" => ("会場", "Venues"),
        "rooms" => ("部屋", "Rooms"),
        "calendar" => ("カレンダー", "Calendar"),
        "transfer" => ("取込・書出", "Import / export"),
        "audit" => ("監査ログ", "Audit log"),
        "account" => ("アカウント", "Account"),
        "logout" => ("ログアウト", "Log out"),
        "login" => ("ログイン", "Log in"),
        "username" => ("ユーザー名", "Username"),
        "password" => ("パスワード", "Password"),
        "language" => ("言語", "Language"),
        "search" => ("検索", "Search"),
        "search_hint" => ("コード・名称・フリガナなどの一部", "part of a code, name, kana, ..."),
        "new" => ("新規登録", "Add new"),
        "edit" => ("編集", "Edit"),
        "save" => ("保存", "Save"),
        "delete" => ("削除", "Delete"),
        "delete_confirm" => ("削除すると元に戻せません。削除しますか?", "Deleting cannot be undone. Delete?"),
        "cancel" => ("戻る", "Back"),
        "required" => ("必須", "required"),
        "results" => ("件", "records"),
        "no_results" => ("該当するデータはありません", "No matching records"),
        "saved" => ("保存しました", "Saved"),
        "deleted" => ("削除しました", "Deleted"),
        "errors_title" => ("入力内容を確認してください", "Please check the input"),
        "signed_in_as" => ("ログイン中", "Signed in as"),
        "municipality" => ("自治体", "Municipality"),
        "fiscal_year" => ("年度", "Fiscal year"),
        "today" => ("今日", "Today"),
        "quarter" => ("四半期", "Quarter"),
        "closed_days" => ("閉庁日(平日)", "Closed weekdays"),
        "date" => ("日付", "Date"),
        "weekday" => ("曜日", "Weekday"),
        "reason" => ("理由", "Reason"),
        "show" => ("表示", "Show"),
        "counts" => ("登録件数", "Records"),
        "next_closed" => ("今後の閉庁日", "Upcoming closed days"),
        "import" => ("取り込み", "Import"),
        "export" => ("書き出し", "Export"),
        "kind" => ("種類", "Kind"),
        "file" => ("ファイル", "File"),
        "encoding" => ("文字コード", "Encoding"),
        "enc_auto" => ("自動判定", "Detect"),
        "format" => ("形式", "Format"),
        "partial" => ("問題のない行だけ取り込む(部分取り込み)", "Import the good rows only (partial import)"),
        "partial_hint" => ("チェックしない場合、1行でも問題があれば何も取り込みません", "Unchecked: nothing is imported if any row has a problem"),
        "import_order" => ("機関 → 人、会場 → 部屋 の順に取り込んでください(後者は前者のコードを参照します)", "Import organisations before people and venues before rooms (the latter refer to the former by code)"),
        "report" => ("取り込み結果", "Import result"),
        "applied" => ("取り込みました", "Imported"),
        "not_applied" => ("問題があるため何も取り込んでいません。下の行を直して再度取り込んでください", "Nothing was imported because of the problems below; fix them and import again"),
        "row" => ("行", "Row"),
        "column" => ("列", "Column"),
        "value" => ("値", "Value"),
        "problem" => ("問題", "Problem"),
        "created" => ("新規", "Created"),
        "updated" => ("更新", "Updated"),
        "ignored_columns" => ("無視した列", "Ignored columns"),
        "when" => ("日時", "When"),
        "who" => ("誰が", "Who"),
        "action" => ("操作", "Action"),
        "what" => ("対象", "What"),
        "api_tokens" => ("APIトークン", "API tokens"),
        "token_name" => ("用途(メモ)", "Purpose (note)"),
        "create_token" => ("トークンを発行", "Create token"),
        "token_once" => ("このトークンは今回しか表示されません。安全な場所に保管してください", "This token is shown only now; store it safely"),
        "role" => ("役割", "Role"),
        "openapi" => ("API仕様 (OpenAPI)", "API description (OpenAPI)"),
        "read_only" => ("閲覧のみの権限です", "You have read-only access"),
        "yes" => ("あり", "yes"),
        "no" => ("なし", "no"),
        "error" => ("エラー", "Error"),
        "back_home" => ("ホームへ戻る", "Back to the home page"),
        "absences" => ("休暇・出張(予定を入れない日)", "Absences (days not to schedule)"),
        "absences_hint" => ("この期間は会議の出席者として割り当てません", "The planner will not invite this person on these days"),
        "no_absences" => ("登録された休暇はありません", "No absences registered"),
        "extra_closures" => ("臨時休業日", "Extra closures"),
        "no_closures" => ("この年度の臨時休業日はありません", "No extra closures in this fiscal year"),
        "from" => ("開始日", "First day"),
        "to" => ("終了日", "Last day"),
        "to_hint" => ("1日だけなら空欄", "leave empty for a single day"),
        "add" => ("追加", "Add"),
        _ => (key, key),
    };
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}
