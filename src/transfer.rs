//! Import and export of master data as CSV (UTF-8 or Shift_JIS/CP932, what Japanese Excel
//! writes) and XLSX.
//!
//! An import is all-or-nothing unless the user asks for a partial import: every row is parsed,
//! then written and its references resolved inside one transaction (each row in a savepoint, so
//! one round reports every problem with its row, column and value), and that transaction is
//! committed only when there was no problem at all. A file with any bad row is rolled back
//! whole: no row and no audit entry remain. With `partial` the bad rows' savepoints are rolled
//! back and the good rows are kept.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::{FieldError, Fields, MasterKind, ValidRecord};
use crate::store::master::{id_by_code, insert_record, update_record, Record};
use crate::store::tenancy::User;
use crate::store::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    #[default]
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }
    /// Guesses from a file name; XLSX files are zip archives, so the bytes decide too.
    pub fn sniff(name: &str, bytes: &[u8]) -> FileFormat {
        if name.to_ascii_lowercase().ends_with(".xlsx") || bytes.starts_with(b"PK\x03\x04") {
            FileFormat::Xlsx
        } else {
            FileFormat::Csv
        }
    }
}

/// Text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8 if the bytes are valid UTF-8 (with or without BOM), else Shift_JIS.
    #[default]
    Auto,
    Utf8,
    /// Shift_JIS as Windows writes it (CP932 / Windows-31J).
    ShiftJis,
}

impl TextEncoding {
    pub fn parse(s: &str) -> Option<TextEncoding> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "" | "auto" => Some(TextEncoding::Auto),
            "utf8" | "utf_8" => Some(TextEncoding::Utf8),
            "shift_jis" | "sjis" | "cp932" | "windows_31j" => Some(TextEncoding::ShiftJis),
            _ => None,
        }
    }
}

/// One problem in an imported file.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RowError {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// Column key, e.g. `email`; empty when the problem concerns the whole row.
    pub column: String,
    /// Column heading in the file as the user wrote it.
    pub heading: String,
    pub value: String,
    pub message: Msg,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub kind: MasterKind,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub errors: Vec<RowError>,
    /// Whether anything was written. False when there were errors and no partial import was asked.
    pub applied: bool,
    pub encoding: String,
    /// Headings that match no column and were ignored.
    pub ignored_columns: Vec<String>,
}

/// A decoded table: headings and rows of cell text.
#[derive(Debug)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub encoding: String,
}

/// A file that cannot be read as what it claims to be (not XLSX, not Shift_JIS, no sheet):
/// the request was well-formed, its content is not (422, the field `file`).
fn bad_file(ja: impl Into<String>, en: impl Into<String>) -> Error {
    Error::Validation(vec![FieldError::new("file", ja, en)])
}

/// Limits of an imported file. Each is checked before the work it bounds, so that a hostile
/// file (a zip bomb, a million rows) is refused with a 413 while it is read, never after: the
/// file size before anything is decoded; for XLSX the number of zip entries and the total
/// uncompressed size from the zip directory before anything is inflated, then the real inflated
/// size while streaming (a directory can lie); the number of rows while rows are read.
pub mod limits {
    /// Size of the uploaded or read file (CSV, or XLSX compressed).
    pub const FILE_BYTES: usize = 10 * 1024 * 1024;
    /// Data rows (below the heading row) of one file. A municipality's people or organisations
    /// are a few thousand; larger files are split.
    pub const ROWS: usize = 50_000;
    /// Entries of an XLSX archive (Excel writes about a dozen).
    pub const XLSX_ENTRIES: usize = 1_000;
    /// Total uncompressed size of an XLSX archive's entries.
    pub const XLSX_UNCOMPRESSED: u64 = 64 * 1024 * 1024;
    /// Columns of a sheet that may hold data (master data has at most a dozen).
    pub const COLUMNS: usize = 256;
}

fn too_large(ja: impl Into<String>, en: impl Into<String>) -> Error {
    Error::TooLarge(Msg::new(ja, en))
}

fn file_too_large(len: usize) -> Error {
    too_large(
        format!(
            "ファイルが大きすぎます({:.1} MB、上限 {} MB)。行を分けて複数のファイルにしてください",
            len as f64 / 1_048_576.0,
            limits::FILE_BYTES / 1_048_576
        ),
        format!(
            "the file is too large ({:.1} MB, at most {} MB); split it into several files",
            len as f64 / 1_048_576.0,
            limits::FILE_BYTES / 1_048_576
        ),
    )
}

/// Refuses a file longer than [`limits::FILE_BYTES`] before reading it (the CLI).
pub fn check_file_size(len: u64) -> Result<()> {
    if len > limits::FILE_BYTES as u64 {
        return Err(file_too_large(len as usize));
    }
    Ok(())
}

fn too_many_rows() -> Error {
    too_large(
        format!(
            "行が多すぎます(上限 {} 行)。ファイルを分けて取り込んでください",
            limits::ROWS
        ),
        format!(
            "too many rows (at most {}); split the file and import each part",
            limits::ROWS
        ),
    )
}

pub fn read_table(bytes: &[u8], format: FileFormat, encoding: TextEncoding) -> Result<Table> {
    check_file_size(bytes.len() as u64)?;
    match format {
        FileFormat::Csv => read_csv(bytes, encoding),
        FileFormat::Xlsx => read_xlsx(bytes),
    }
}

fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<(String, &'static str)> {
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)).map(str::to_string)
    };
    match encoding {
        TextEncoding::Utf8 => utf8(bytes).map(|s| (s, "utf-8")).map_err(|e| {
            bad_file(
                format!("ファイルがUTF-8ではありません({}バイト目)。Excelで保存したCSVなら文字コードに Shift_JIS を選んでください", e.valid_up_to() + 1),
                format!("the file is not UTF-8 (at byte {}); for a CSV saved by Excel choose Shift_JIS", e.valid_up_to() + 1),
            )
        }),
        TextEncoding::ShiftJis => {
            let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
            if had_errors {
                return Err(bad_file(
                    "ファイルをShift_JISとして読めません。UTF-8で保存したファイルなら文字コードに UTF-8 を選んでください",
                    "the file cannot be read as Shift_JIS; if it was saved as UTF-8 choose UTF-8",
                ));
            }
            Ok((text.into_owned(), "shift_jis"))
        }
        TextEncoding::Auto => match utf8(bytes) {
            Ok(s) => Ok((s, "utf-8")),
            Err(_) => decode(bytes, TextEncoding::ShiftJis),
        },
    }
}

fn read_csv(bytes: &[u8], encoding: TextEncoding) -> Result<Table> {
    let (text, encoding) = decode(bytes, encoding)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headings = reader
        .headers()
        .map_err(|e| {
            bad_file(
                format!("見出し行を読めません: {e}"),
                format!("cannot read the heading row: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= limits::ROWS {
            return Err(too_many_rows());
        }
        let record = record.map_err(|e| {
            bad_file(
                format!("{}行目を読めません(引用符の閉じ忘れなど): {e}", i + 2),
                format!("cannot read row {} (an unclosed quote?): {e}", i + 2),
            )
        })?;
        rows.push(
            record
                .iter()
                .map(|c| restore_neutralised(c.to_string()))
                .collect(),
        );
    }
    Ok(Table {
        headings,
        rows,
        encoding: encoding.to_string(),
    })
}

/// Checks an XLSX archive against the limits before calamine inflates anything: entry count
/// and declared sizes from the zip directory, then each entry inflated into a counter (constant
/// memory) in case the directory lies about its sizes.
fn check_xlsx_archive(bytes: &[u8]) -> Result<()> {
    let not_xlsx = |e: zip::result::ZipError| {
        bad_file(
            format!("XLSXファイルとして開けません: {e}"),
            format!("cannot open the file as XLSX: {e}"),
        )
    };
    let bomb = || {
        too_large(
            format!(
                "XLSXファイルの展開後の大きさが上限({} MB)を超えます。不要なシートや書式を除くか、CSVで保存してください",
                limits::XLSX_UNCOMPRESSED / 1_048_576
            ),
            format!(
                "the XLSX file unpacks to more than {} MB; remove other sheets and formatting, or save it as CSV",
                limits::XLSX_UNCOMPRESSED / 1_048_576
            ),
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_xlsx)?;
    if archive.len() > limits::XLSX_ENTRIES {
        return Err(too_large(
            format!(
                "XLSXファイルの部品が多すぎます({}個、上限 {}個)。CSVで保存してください",
                archive.len(),
                limits::XLSX_ENTRIES
            ),
            format!(
                "the XLSX file has too many parts ({}, at most {}); save it as CSV",
                archive.len(),
                limits::XLSX_ENTRIES
            ),
        ));
    }
    // What the directory declares: refused without inflating a byte.
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(not_xlsx)?;
        declared = declared.saturating_add(entry.size());
    }
    if declared > limits::XLSX_UNCOMPRESSED {
        return Err(bomb());
    }
    // What the entries really inflate to, counted and dropped.
    let mut budget = limits::XLSX_UNCOMPRESSED;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(not_xlsx)?;
        let inflated = std::io::copy(
            &mut std::io::Read::take(entry, budget + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| {
            bad_file(
                format!("XLSXファイルが壊れています: {e}"),
                format!("the XLSX file is damaged: {e}"),
            )
        })?;
        if inflated > budget {
            return Err(bomb());
        }
        budget -= inflated;
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8]) -> Result<Table> {
    use calamine::{Data, Reader, Xlsx};
    check_xlsx_archive(bytes)?;
    let cannot_open = |e: calamine::XlsxError| {
        bad_file(
            format!("XLSXファイルとして開けません: {e}"),
            format!("cannot open the file as XLSX: {e}"),
        )
    };
    let cannot_read = |e: calamine::XlsxError| {
        bad_file(
            format!("シートを読めません: {e}"),
            format!("cannot read the sheet: {e}"),
        )
    };
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(cannot_open)?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| bad_file("シートがありません", "the workbook has no sheet"))?;
    let cell = |d: &Data| match d {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        // A date cell (ours are written as dates) reads back as the text it was written from.
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => {
                t.date().format("%Y-%m-%d").to_string()
            }
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => d.to_string(),
        },
        other => other.to_string(),
    };
    // Cells are streamed in row order, so the row limit stops the reading itself.
    let mut cells = book.worksheet_cells_reader(&first).map_err(cannot_read)?;
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut origin: Option<u32> = None;
    while let Some(c) = cells.next_cell().map_err(cannot_read)? {
        let value = cell(&Data::from(c.get_value().clone()));
        if value.is_empty() {
            continue;
        }
        let (row, column) = c.get_position();
        // Rows are counted from the first row that holds anything (the headings).
        let row = (row - *origin.get_or_insert(row)) as usize;
        if row > limits::ROWS {
            return Err(too_many_rows());
        }
        let column = column as usize;
        if column >= limits::COLUMNS {
            return Err(too_large(
                format!(
                    "{}行目の{}列目に値があります。列は{}列までです",
                    row + 1,
                    column + 1,
                    limits::COLUMNS
                ),
                format!(
                    "row {} has a value in column {}; at most {} columns are read",
                    row + 1,
                    column + 1,
                    limits::COLUMNS
                ),
            ));
        }
        if grid.len() <= row {
            grid.resize_with(row + 1, Vec::new);
        }
        let line = &mut grid[row];
        if line.len() <= column {
            line.resize(column + 1, String::new());
        }
        line[column] = value;
    }
    let mut rows = grid.into_iter();
    let headings = rows
        .next()
        .ok_or_else(|| {
            bad_file(
                "シートが空です(1行目に見出しが必要です)",
                "the sheet is empty (row 1 must hold the headings)",
            )
        })?
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    Ok(Table {
        headings,
        rows: rows.collect(),
        encoding: "xlsx".into(),
    })
}

/// Matches headings to columns: the key (`code`), the Japanese or the English label.
fn map_headings(
    kind: MasterKind,
    headings: &[String],
) -> Result<(HashMap<&'static str, usize>, Vec<String>)> {
    let columns = kind.columns();
    let mut map = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in headings.iter().enumerate() {
        let h_norm = h.trim_start_matches('\u{feff}').trim();
        match columns
            .iter()
            .find(|c| c.key == h_norm || c.ja == h_norm || c.en.eq_ignore_ascii_case(h_norm))
        {
            Some(c) if !map.contains_key(c.key) => {
                map.insert(c.key, i);
            }
            _ if h_norm.is_empty() => {}
            _ => ignored.push(h.clone()),
        }
    }
    let missing: Vec<&str> = columns
        .iter()
        .filter(|c| c.required && !map.contains_key(c.key))
        .map(|c| c.ja)
        .collect();
    if !missing.is_empty() {
        let missing_en: Vec<&str> = columns
            .iter()
            .filter(|c| c.required && !map.contains_key(c.key))
            .map(|c| c.key)
            .collect();
        // The file was read: what is wrong is its content (422), as with the caseload import.
        return Err(Error::Validation(vec![FieldError::new(
            "headings",
            format!("必須の列がありません: {}。1行目に見出しを入れてください(エクスポートしたファイルを雛形にできます)", missing.join("、")),
            format!("required columns are missing: {}; put the headings in row 1 (an exported file can serve as a template)", missing_en.join(", ")),
        )]));
    }
    Ok((map, ignored))
}

/// Imports a file of one kind for the user's municipality.
pub async fn import(
    db: &Db,
    user: &User,
    kind: MasterKind,
    table: Table,
    partial: bool,
) -> Result<ImportReport> {
    if !user.role.can_write_master() {
        return Err(Error::forbidden_write());
    }
    // Missing required columns: nothing can be read, and the report says which (row 1).
    let (map, ignored_columns) = match map_headings(kind, &table.headings) {
        Ok(mapped) => mapped,
        Err(Error::Validation(missing)) => {
            return Ok(ImportReport {
                kind,
                rows: table.rows.len(),
                created: 0,
                updated: 0,
                errors: missing
                    .into_iter()
                    .map(|e| RowError {
                        row: 1,
                        column: e.field,
                        heading: String::new(),
                        value: table.headings.join(","),
                        message: e.message,
                    })
                    .collect(),
                applied: false,
                encoding: table.encoding,
                ignored_columns: Vec::new(),
            })
        }
        Err(e) => return Err(e),
    };
    let heading_of = |key: &str| {
        map.get(key)
            .map(|&i| table.headings[i].clone())
            .unwrap_or_else(|| key.to_string())
    };
    let mut errors = Vec::new();
    let mut parsed: Vec<(usize, ValidRecord)> = Vec::new();
    let mut seen_codes = HashSet::new();
    let mut rows = 0;
    for (i, cells) in table.rows.iter().enumerate() {
        let row_number = i + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let fields = Fields(
            map.iter()
                .map(|(key, &idx)| (key.to_string(), cells.get(idx).cloned().unwrap_or_default()))
                .collect(),
        );
        match ValidRecord::from_fields(kind, &fields) {
            Ok(record) => {
                if !seen_codes.insert(record.code().to_string()) {
                    errors.push(RowError {
                        row: row_number,
                        column: "code".into(),
                        heading: heading_of("code"),
                        value: record.code().to_string(),
                        message: Msg::new(
                            "同じコードがファイル内で2回以上使われています。1行にまとめてください",
                            "the same code appears more than once in the file; keep one row per code",
                        ),
                    });
                } else {
                    parsed.push((row_number, record));
                }
            }
            Err(field_errors) => errors.extend(field_errors.into_iter().map(|e| RowError {
                row: row_number,
                heading: heading_of(&e.field),
                value: fields.get(&e.field),
                column: e.field,
                message: e.message,
            })),
        }
    }
    // One transaction for the whole file: every row is written in its own savepoint (so a
    // reference error in one row does not poison the others and every problem is reported in
    // one round), and the transaction commits only when the file was clean or a partial import
    // was asked for. A file with any bad row rolls back whole: no row, no audit entry.
    let commit_with_errors = partial;
    let (created, updated, apply_errors) = apply(
        db,
        user,
        kind,
        &parsed,
        &errors,
        commit_with_errors,
        &heading_of,
    )
    .await?;
    errors.extend(apply_errors);
    errors.sort_by_key(|e| e.row);
    let applied = errors.is_empty() || partial;
    Ok(ImportReport {
        kind,
        rows,
        created: if applied { created } else { 0 },
        updated: if applied { updated } else { 0 },
        errors,
        applied,
        encoding: table.encoding,
        ignored_columns,
    })
}

/// Writes the parsed rows in one transaction, each row in a savepoint, and checks their
/// references there. `parse_errors` are the problems found before (they count towards the
/// decision); the transaction commits when there is no problem at all, or regardless when
/// `commit_with_errors` (partial import). Otherwise it is rolled back and nothing, not even the
/// audit row, is kept. Returns (created, updated, errors found while writing).
async fn apply(
    db: &Db,
    user: &User,
    kind: MasterKind,
    rows: &[(usize, ValidRecord)],
    parse_errors: &[RowError],
    commit_with_errors: bool,
    heading_of: &(dyn Fn(&str) -> String + Sync),
) -> Result<(usize, usize, Vec<RowError>)> {
    let m = user.municipality_id;
    let mut tx = db.begin_write().await?;
    let (mut created, mut updated, mut errors) = (0, 0, Vec::new());
    for (row, record) in rows {
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        let existing = id_by_code(&mut sp, m, kind, record.code()).await?;
        let outcome = match existing {
            Some(id) => update_record(&mut sp, m, id, record).await.map(|_| false),
            None => insert_record(&mut sp, m, record).await.map(|_| true),
        };
        match outcome {
            Ok(is_new) => {
                sp.commit().await?;
                if is_new {
                    created += 1;
                } else {
                    updated += 1;
                }
            }
            Err(Error::Validation(fields)) => {
                sp.rollback().await?;
                errors.extend(fields.into_iter().map(|e| RowError {
                    row: *row,
                    heading: heading_of(&e.field),
                    value: reference_value(record, &e.field),
                    column: e.field,
                    message: e.message,
                }));
            }
            Err(Error::Conflict(message)) => {
                sp.rollback().await?;
                errors.push(RowError {
                    row: *row,
                    column: String::new(),
                    heading: String::new(),
                    value: record.code().to_string(),
                    message,
                });
            }
            Err(e) => return Err(e),
        }
    }
    let problems = parse_errors.len() + errors.len();
    if problems > 0 && !commit_with_errors {
        tx.rollback().await?;
        return Ok((0, 0, errors));
    }
    let skipped: HashSet<usize> = parse_errors.iter().chain(&errors).map(|e| e.row).collect();
    let detail = format!(
        "{}: created {created}, updated {updated}, skipped rows {}",
        kind.slug(),
        skipped.len()
    );
    crate::store::audit::record(
        &mut tx,
        Some(m),
        Some(user.id),
        "import",
        kind.slug(),
        "",
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok((created, updated, errors))
}

fn reference_value(record: &ValidRecord, field: &str) -> String {
    match (record, field) {
        (ValidRecord::Person(p), "organisation_code") => {
            p.organisation_code.clone().unwrap_or_default()
        }
        (ValidRecord::Room(r), "venue_code") => r.venue_code.clone(),
        _ => String::new(),
    }
}

/// Exports records of one kind. CSV in UTF-8 gets a BOM so that Excel reads it as UTF-8.
pub fn export(
    kind: MasterKind,
    records: &[Record],
    format: FileFormat,
    encoding: TextEncoding,
) -> Result<Vec<u8>> {
    let headings: Vec<&str> = kind.columns().iter().map(|c| c.key).collect();
    let rows: Vec<Vec<String>> = records.iter().map(|r| r.to_fields()).collect();
    write_table(kind.slug(), &headings, &rows, format, encoding)
}

/// Writes a table as CSV (UTF-8 with BOM, so Excel reads it, or Shift_JIS) or XLSX (one
/// sheet, bold frozen heading row).
pub fn write_table(
    sheet_name: &str,
    headings: &[&str],
    rows: &[Vec<String>],
    format: FileFormat,
    encoding: TextEncoding,
) -> Result<Vec<u8>> {
    match format {
        FileFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            w.write_record(headings.iter().map(|h| neutralise_formula(h).into_owned()))
                .map_err(|e| Error::Internal(e.into()))?;
            for r in rows {
                w.write_record(r.iter().map(|c| neutralise_formula(c).into_owned()))
                    .map_err(|e| Error::Internal(e.into()))?;
            }
            let text = String::from_utf8(
                w.into_inner()
                    .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?,
            )
            .map_err(|e| Error::Internal(e.into()))?;
            match encoding {
                TextEncoding::ShiftJis => encode_shift_jis(&text),
                TextEncoding::Utf8 | TextEncoding::Auto => {
                    let mut out = b"\xEF\xBB\xBF".to_vec();
                    out.extend_from_slice(text.as_bytes());
                    Ok(out)
                }
            }
        }
        FileFormat::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let xl = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.into());
            sheet.set_name(sheet_name).map_err(xl)?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in headings.iter().enumerate() {
                sheet
                    .write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(xl)?;
                sheet.set_column_width(c as u16, 18).map_err(xl)?;
            }
            let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
            let mut decimal_formats: HashMap<usize, rust_xlsxwriter::Format> = HashMap::new();
            for (r, row) in rows.iter().enumerate() {
                let r = (r + 1) as u32;
                for (c, v) in row.iter().enumerate() {
                    let c = c as u16;
                    match typed_cell(v) {
                        TypedCell::Date(y, m, d) => {
                            let date =
                                rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d).map_err(xl)?;
                            sheet
                                .write_date_with_format(r, c, &date, &date_format)
                                .map_err(xl)?
                        }
                        TypedCell::Number(n, 0) => sheet.write_number(r, c, n).map_err(xl)?,
                        TypedCell::Number(n, decimals) => {
                            // Shown with as many decimals as the text had (45.0 stays 45.0).
                            let format = decimal_formats.entry(decimals).or_insert_with(|| {
                                rust_xlsxwriter::Format::new()
                                    .set_num_format(format!("0.{}", "0".repeat(decimals)))
                            });
                            sheet
                                .write_number_with_format(r, c, n, format)
                                .map_err(xl)?
                        }
                        TypedCell::Text => sheet.write_string(r, c, v).map_err(xl)?,
                    };
                }
            }
            sheet.set_freeze_panes(1, 0).map_err(xl)?;
            book.save_to_buffer().map_err(xl)
        }
    }
}

/// What an exported cell is in a spreadsheet, so that numbers sum and dates sort.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TypedCell {
    /// A calendar date (`YYYY-MM-DD`), stored as a date with a `yyyy-mm-dd` format.
    Date(u16, u8, u8),
    /// A number and how many decimals its text had.
    Number(f64, usize),
    Text,
}

/// Types a cell by its text: `YYYY-MM-DD` is a date; a plain decimal number (`12`, `-3`,
/// `45.0`) is a number, except where a number would lose what the text says: a leading zero
/// (`007`, codes and telephone numbers), a `+` sign, or more than 15 digits (beyond what a
/// spreadsheet keeps exactly). Import reads such cells back as the same text (a whole number
/// without decimals, a date as `YYYY-MM-DD`), so exports round-trip.
fn typed_cell(v: &str) -> TypedCell {
    use chrono::Datelike;
    if v.len() == 10 {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            if d.format("%Y-%m-%d").to_string() == v && (1900..=9999).contains(&d.year()) {
                return TypedCell::Date(d.year() as u16, d.month() as u8, d.day() as u8);
            }
        }
    }
    if v.starts_with('+') || !is_plain_number(v) {
        return TypedCell::Text;
    }
    let unsigned = v.trim_start_matches('-');
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if (int.len() > 1 && int.starts_with('0')) || int.len() + frac.len() > 15 {
        return TypedCell::Text;
    }
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() => TypedCell::Number(n, frac.len()),
        _ => TypedCell::Text,
    }
}

/// Characters that start a formula in Excel, LibreOffice and Google Sheets (OWASP, "CSV
/// Injection"): `=`, `+`, `-`, `@`, tab and carriage return.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell made safe to open in a spreadsheet: a cell that starts with a formula character
/// gets a leading `'`, which spreadsheets take as "text" and do not show (OWASP's rule).
///
/// The one exception is a cell that is a plain decimal number (`-3`, `-12.5`, `+81`): a
/// spreadsheet reads it as that number, it can carry no formula, and quoting it would turn
/// negative figures into text that no longer sums. The rule looks at the cell, not the column,
/// so it needs no column types and a text column holding `-1+2` is still quoted.
/// XLSX needs none of this: its cells are written as strings, numbers or dates, never as formulas.
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if FORMULA_STARTS.contains(&c) && !is_plain_number(cell) => {
            std::borrow::Cow::Owned(format!("'{cell}"))
        }
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

/// An optional sign, digits and at most one decimal point with digits after it.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Undoes [`neutralise_formula`] on import, so that an exported file imports back unchanged: a
/// leading `'` before a formula character is dropped. Any other leading `'` is data and stays.
fn restore_neutralised(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest.to_string(),
        _ => cell,
    }
}

/// The characters that Windows' CP932 writes where WHATWG Shift_JIS (what encoding_rs
/// implements) has no mapping: macOS and Unicode-normalising software produce the JIS-mapped
/// code points (〜 WAVE DASH and friends), while CP932 maps the same bytes to their fullwidth
/// or compatibility forms. Each is replaced by the code point whose CP932 bytes Excel shows as
/// the same character. encoding_rs already turns U+2212 MINUS SIGN into 0x817C itself; it is
/// listed for completeness. Decoding gives back the CP932 form (～ for 0x8160), as Windows does.
const CP932_COMPATIBILITY: [(char, char); 7] = [
    ('\u{301C}', '\u{FF5E}'), // 〜 WAVE DASH → ～ (0x8160)
    ('\u{2016}', '\u{2225}'), // ‖ DOUBLE VERTICAL LINE → ∥ (0x8161)
    ('\u{2212}', '\u{FF0D}'), // − MINUS SIGN → － (0x817C)
    ('\u{2014}', '\u{2015}'), // — EM DASH → ― (0x815C)
    ('\u{00A2}', '\u{FFE0}'), // ¢ → ￠ (0x8191)
    ('\u{00A3}', '\u{FFE1}'), // £ → ￡ (0x8192)
    ('\u{00AC}', '\u{FFE2}'), // ¬ → ￢ (0x81CA)
];

fn cp932_compatible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| CP932_COMPATIBILITY.iter().any(|(from, _)| *from == c))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                CP932_COMPATIBILITY
                    .iter()
                    .find(|(from, _)| *from == c)
                    .map_or(c, |(_, to)| *to)
            })
            .collect(),
    )
}

/// Encodes to Shift_JIS as Windows writes it (CP932, with the compatibility characters above);
/// characters it cannot hold are an error naming them, rather than silently turning into `?`.
fn encode_shift_jis(text: &str) -> Result<Vec<u8>> {
    let text = &*cp932_compatible(text);
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(text);
    if had_errors {
        let bad: Vec<String> = text
            .chars()
            .filter(|c| encoding_rs::SHIFT_JIS.encode(&c.to_string()).2)
            .take(5)
            .map(|c| c.to_string())
            .collect();
        return Err(Error::Validation(vec![FieldError::new(
            "encoding",
            format!(
                "Shift_JISで表せない文字があります({})。UTF-8で書き出してください",
                bad.join(" ")
            ),
            format!(
                "some characters cannot be written in Shift_JIS ({}); export as UTF-8 instead",
                bad.join(" ")
            ),
        )]));
    }
    Ok(bytes.into_owned())
}

pub fn content_type(format: FileFormat, encoding: TextEncoding) -> &'static str {
    match (format, encoding) {
        (FileFormat::Xlsx, _) => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
        (FileFormat::Csv, TextEncoding::ShiftJis) => "text/csv; charset=Shift_JIS",
        (FileFormat::Csv, _) => "text/csv; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_round_trip_and_auto_detection() {
        let text = "code,name,kind\r\nC1,相談支援事業所ひだまり,consultation_office\r\n";
        let sjis = encode_shift_jis(text).unwrap();
        assert!(
            std::str::from_utf8(&sjis).is_err(),
            "Shift_JIS bytes must not be valid UTF-8 here"
        );
        let table = read_table(&sjis, FileFormat::Csv, TextEncoding::Auto).unwrap();
        assert_eq!(table.encoding, "shift_jis");
        assert_eq!(table.rows[0][1], "相談支援事業所ひだまり");
        let err = read_table(&sjis, FileFormat::Csv, TextEncoding::Utf8).unwrap_err();
        assert!(
            matches!(&err, Error::Validation(f) if f[0].field == "file"),
            "{err:?}"
        );
    }

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (cell, written) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+SUM(1+1)", "'+SUM(1+1)"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-", "'-"),
            ("-.5", "'-.5"),
            ("+81-3-1234", "'+81-3-1234"),
            ("-12", "-12"),
            ("-12.5", "-12.5"),
            ("+7", "+7"),
            ("0.25", "0.25"),
            ("相談支援", "相談支援"),
            (" =1", " =1"),
            ("", ""),
        ] {
            assert_eq!(neutralise_formula(cell), written, "{cell:?}");
            if written != cell {
                assert_eq!(restore_neutralised(written.to_string()), cell);
            }
        }
        // A quote that is data stays.
        assert_eq!(restore_neutralised("'ひだまり".into()), "'ひだまり");
    }

    #[test]
    fn csv_export_quotes_formulas_and_imports_back_unchanged() {
        let rows = vec![vec!["=1+1".to_string(), "-3".to_string(), "@x".to_string()]];
        for encoding in [TextEncoding::Utf8, TextEncoding::ShiftJis] {
            let bytes =
                write_table("t", &["a", "b", "c"], &rows, FileFormat::Csv, encoding).unwrap();
            let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
            assert!(text.contains("'=1+1,-3,'@x\r\n"), "{text:?}");
            let table = read_table(&bytes, FileFormat::Csv, TextEncoding::Auto).unwrap();
            assert_eq!(table.rows, rows);
        }
    }

    #[test]
    fn cp932_compatibility_characters_are_written_as_windows_does() {
        for (c, bytes) in [
            ("〜", [0x81, 0x60]),
            ("～", [0x81, 0x60]),
            ("−", [0x81, 0x7C]),
            ("－", [0x81, 0x7C]),
            ("‖", [0x81, 0x61]),
            ("∥", [0x81, 0x61]),
            ("—", [0x81, 0x5C]),
            ("¢", [0x81, 0x91]),
            ("￠", [0x81, 0x91]),
            ("£", [0x81, 0x92]),
            ("￡", [0x81, 0x92]),
            ("¬", [0x81, 0xCA]),
            ("￢", [0x81, 0xCA]),
        ] {
            assert_eq!(
                encode_shift_jis(c).unwrap(),
                bytes,
                "{c} (U+{:04X})",
                c.chars().next().unwrap() as u32
            );
        }
        let text = "9:00〜12:00 定員−2";
        let bytes = encode_shift_jis(text).unwrap();
        assert_eq!(
            encoding_rs::SHIFT_JIS.decode(&bytes).0,
            "9:00～12:00 定員－2"
        );
    }

    /// A zip whose directory understates an entry's size (100 MiB declared as 1,000 bytes) is
    /// still refused: the entry is inflated into a counter, never into memory.
    #[test]
    fn an_xlsx_directory_that_lies_about_sizes_is_refused() {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9));
        w.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..100 {
            w.write_all(&zeros).unwrap();
        }
        let mut bytes = w.finish().unwrap().into_inner();
        assert!(matches!(
            check_xlsx_archive(&bytes),
            Err(Error::TooLarge(_))
        ));
        // Rewrite the uncompressed size in the local header (offset 22) and the central
        // directory header (offset 24) to 1,000 bytes.
        let declared = 100u32 << 20;
        let mut patched = 0;
        for i in 0..bytes.len() - 4 {
            let sig = &bytes[i..i + 4];
            let at = if sig == b"PK\x03\x04" {
                i + 22
            } else if sig == b"PK\x01\x02" {
                i + 24
            } else {
                continue;
            };
            if bytes[at..at + 4] == declared.to_le_bytes() {
                bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "both headers rewritten");
        let refused = check_xlsx_archive(&bytes);
        assert!(
            matches!(refused, Err(Error::TooLarge(_) | Error::Validation(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn characters_outside_cp932_are_reported() {
        let err = encode_shift_jis("𠮷野家").unwrap_err();
        let Error::Validation(fields) = err else {
            panic!("expected a validation error")
        };
        assert!(fields[0].message.ja.contains("𠮷"), "{:?}", fields[0]);
    }

    #[test]
    fn headings_match_keys_and_labels_and_report_missing() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (map, ignored) = map_headings(
            MasterKind::Organisations,
            &h(&["コード", "Name", "kind", "備考"]),
        )
        .unwrap();
        assert_eq!(map["code"], 0);
        assert_eq!(map["name"], 1);
        assert_eq!(ignored, ["備考"]);
        let err = map_headings(MasterKind::Organisations, &h(&["code"])).unwrap_err();
        let Error::Validation(fields) = err else {
            panic!("{err:?}")
        };
        let m = &fields[0].message;
        assert!(m.en.contains("name") && m.en.contains("kind"), "{m}");
    }
}
