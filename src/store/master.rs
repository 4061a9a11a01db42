//! Master data in the store: organisations, people, venues and rooms, always scoped to
//! one municipality. Writes take an open transaction so the importer can apply a whole file
//! atomically, and every write leaves an audit row in the same transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::tenancy::{MunicipalityId, User};
use super::{like_pattern, now, Db};
use crate::error::{Error, Result};
use crate::master::{
    availability_text, weekday_slug, FieldError, MasterKind, OrgKind, Organisation, Person, Room,
    ValidOrganisation, ValidPerson, ValidRecord, ValidRoom, ValidVenue, Venue,
};

fn list_text(items: &[String]) -> String {
    items.join(";")
}

fn text_list(s: &str) -> Vec<String> {
    s.split(';')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn organisation_from_row(r: &AnyRow) -> Result<Organisation> {
    let kind: String = r.try_get("kind")?;
    Ok(Organisation {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        kana: r.try_get("kana")?,
        kind: OrgKind::parse(&kind).unwrap_or(OrgKind::Other),
        ward: r.try_get("ward")?,
        address: r.try_get("address")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
    })
}

fn person_from_row(r: &AnyRow) -> Result<Person> {
    Ok(Person {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        kana: r.try_get("kana")?,
        email: r.try_get("email")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_code: r.try_get("organisation_code")?,
        organisation_name: r.try_get("organisation_name")?,
        roles: text_list(&r.try_get::<String, _>("roles")?),
        qualifications: text_list(&r.try_get::<String, _>("qualifications")?),
        part_time_days: text_list(&r.try_get::<String, _>("part_time_days")?),
        working_hours: r.try_get("working_hours")?,
        max_meetings_per_day: r
            .try_get::<Option<i64>, _>("max_meetings_per_day")?
            .map(|n| n as u32),
        max_hours_per_day: r
            .try_get::<Option<i64>, _>("max_minutes_per_day")?
            .map(|m| m as f64 / 60.0),
        external: r.try_get::<i64, _>("external")? != 0,
        availability: r.try_get("availability")?,
    })
}

fn venue_from_row(r: &AnyRow) -> Result<Venue> {
    Ok(Venue {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        ward: r.try_get("ward")?,
        address: r.try_get("address")?,
        opening_hours: r.try_get("opening_hours")?,
    })
}

fn room_from_row(r: &AnyRow) -> Result<Room> {
    Ok(Room {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        venue_id: r.try_get("venue_id")?,
        venue_code: r.try_get("venue_code")?,
        venue_name: r.try_get("venue_name")?,
        name: r.try_get("name")?,
        capacity: r.try_get("capacity")?,
        wheelchair: r.try_get::<i64, _>("wheelchair")? != 0,
        hearing_loop: r.try_get::<i64, _>("hearing_loop")? != 0,
    })
}

const ORGANISATION_SELECT: &str =
    "SELECT id, code, name, kana, kind, ward, address, phone, email FROM organisations WHERE municipality_id = $1";
const PERSON_SELECT: &str = "SELECT p.id, p.code, p.name, p.kana, p.email, p.organisation_id, o.code AS organisation_code,
        o.name AS organisation_name, p.roles, p.qualifications, p.part_time_days,
        p.working_hours, p.max_meetings_per_day, p.max_minutes_per_day, p.external, p.availability
     FROM people p LEFT JOIN organisations o ON o.id = p.organisation_id WHERE p.municipality_id = $1";
const VENUE_SELECT: &str =
    "SELECT id, code, name, ward, address, opening_hours FROM venues WHERE municipality_id = $1";
const ROOM_SELECT: &str = "SELECT r.id, r.code, r.venue_id, v.code AS venue_code, v.name AS venue_name, r.name, r.capacity,
        r.wheelchair, r.hearing_loop
     FROM rooms r JOIN venues v ON v.id = r.venue_id WHERE r.municipality_id = $1";

/// A master-data record of any kind, as read back.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Record {
    Organisation(Organisation),
    Person(Person),
    Venue(Venue),
    Room(Room),
}

impl Record {
    pub fn id(&self) -> i64 {
        match self {
            Record::Organisation(r) => r.id,
            Record::Person(r) => r.id,
            Record::Venue(r) => r.id,
            Record::Room(r) => r.id,
        }
    }
    /// Cell texts in the order of `MasterKind::columns()`.
    pub fn to_fields(&self) -> Vec<String> {
        match self {
            Record::Organisation(r) => r.to_fields(),
            Record::Person(r) => r.to_fields(),
            Record::Venue(r) => r.to_fields(),
            Record::Room(r) => r.to_fields(),
        }
    }
}

impl Db {
    /// Lists records of one kind, optionally filtered by a substring of code, name or kana.
    pub async fn list_records(
        &self,
        m: MunicipalityId,
        kind: MasterKind,
        q: &str,
    ) -> Result<Vec<Record>> {
        Ok(self.list_records_page(m, kind, q, i64::MAX, 0).await?.0)
    }

    /// One page of [`Db::list_records`] (`limit` rows after `offset`) and how many match.
    pub async fn list_records_page(
        &self,
        m: MunicipalityId,
        kind: MasterKind,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Record>, i64)> {
        let (sql, map): (String, fn(&AnyRow) -> Result<Record>) = match kind {
            MasterKind::Organisations => (
                format!("{ORGANISATION_SELECT} AND ($2 = '' OR code LIKE $3 ESCAPE '\\' OR name LIKE $3 ESCAPE '\\' OR kana LIKE $3 ESCAPE '\\' OR ward LIKE $3 ESCAPE '\\') ORDER BY kind, ward, code"),
                |r| organisation_from_row(r).map(Record::Organisation),
            ),
            MasterKind::People => (
                format!("{PERSON_SELECT} AND ($2 = '' OR p.code LIKE $3 ESCAPE '\\' OR p.name LIKE $3 ESCAPE '\\' OR p.kana LIKE $3 ESCAPE '\\' OR o.name LIKE $3 ESCAPE '\\' OR p.roles LIKE $3 ESCAPE '\\' OR p.qualifications LIKE $3 ESCAPE '\\') ORDER BY p.kana, p.code"),
                |r| person_from_row(r).map(Record::Person),
            ),
            MasterKind::Venues => (
                format!("{VENUE_SELECT} AND ($2 = '' OR code LIKE $3 ESCAPE '\\' OR name LIKE $3 ESCAPE '\\' OR ward LIKE $3 ESCAPE '\\' OR address LIKE $3 ESCAPE '\\') ORDER BY code"),
                |r| venue_from_row(r).map(Record::Venue),
            ),
            MasterKind::Rooms => (
                format!("{ROOM_SELECT} AND ($2 = '' OR r.code LIKE $3 ESCAPE '\\' OR r.name LIKE $3 ESCAPE '\\' OR v.name LIKE $3 ESCAPE '\\') ORDER BY v.code, r.code"),
                |r| room_from_row(r).map(Record::Room),
            ),
        };
        let rows = sqlx::query(&format!("{sql} LIMIT $4 OFFSET $5"))
            .bind(m.0)
            .bind(q.trim())
            .bind(like_pattern(q))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let records = rows.iter().map(map).collect::<Result<Vec<_>>>()?;
        // Counting is needed only when the page may not hold everything.
        let total = if offset == 0 && (records.len() as i64) < limit {
            records.len() as i64
        } else {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM ({sql}) matching"))
                .bind(m.0)
                .bind(q.trim())
                .bind(like_pattern(q))
                .fetch_one(&self.pool)
                .await?
        };
        Ok((records, total))
    }

    pub async fn get_record(&self, m: MunicipalityId, kind: MasterKind, id: i64) -> Result<Record> {
        let (sql, map): (String, fn(&AnyRow) -> Result<Record>) = match kind {
            MasterKind::Organisations => (format!("{ORGANISATION_SELECT} AND id = $2"), |r| {
                organisation_from_row(r).map(Record::Organisation)
            }),
            MasterKind::People => (format!("{PERSON_SELECT} AND p.id = $2"), |r| {
                person_from_row(r).map(Record::Person)
            }),
            MasterKind::Venues => (format!("{VENUE_SELECT} AND id = $2"), |r| {
                venue_from_row(r).map(Record::Venue)
            }),
            MasterKind::Rooms => (format!("{ROOM_SELECT} AND r.id = $2"), |r| {
                room_from_row(r).map(Record::Room)
            }),
        };
        let row = sqlx::query(&sql)
            .bind(m.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => map(&r),
            None => Err(not_found(kind)),
        }
    }

    /// Creates (`id` None) or updates one record, with its audit row, in one transaction.
    pub async fn save_record(
        &self,
        user: &User,
        id: Option<i64>,
        record: &ValidRecord,
    ) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let saved = match id {
            None => insert_record(&mut tx, m, record).await?,
            Some(id) => {
                update_record(&mut tx, m, id, record).await?;
                id
            }
        };
        let action = if id.is_some() { "update" } else { "create" };
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            action,
            kind_of(record).slug(),
            &saved.to_string(),
            record.code(),
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn delete_record(&self, user: &User, kind: MasterKind, id: i64) -> Result<()> {
        let m = user.municipality_id;
        let table = table(kind);
        let mut tx = self.begin_write().await?;
        let code: Option<String> = sqlx::query_scalar(&format!(
            "SELECT code FROM {table} WHERE municipality_id = $1 AND id = $2"
        ))
        .bind(m.0)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(code) = code else {
            return Err(not_found(kind));
        };
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE municipality_id = $1 AND id = $2"
        ))
        .bind(m.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "delete",
            kind.slug(),
            &id.to_string(),
            &code,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_records(&self, m: MunicipalityId, kind: MasterKind) -> Result<i64> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE municipality_id = $1",
            table(kind)
        ))
        .bind(m.0)
        .fetch_one(&self.pool)
        .await?)
    }
}

fn table(kind: MasterKind) -> &'static str {
    match kind {
        MasterKind::Organisations => "organisations",
        MasterKind::People => "people",
        MasterKind::Venues => "venues",
        MasterKind::Rooms => "rooms",
    }
}

pub fn kind_of(record: &ValidRecord) -> MasterKind {
    match record {
        ValidRecord::Organisation(_) => MasterKind::Organisations,
        ValidRecord::Person(_) => MasterKind::People,
        ValidRecord::Venue(_) => MasterKind::Venues,
        ValidRecord::Room(_) => MasterKind::Rooms,
    }
}

fn not_found(kind: MasterKind) -> Error {
    let l = kind.label();
    Error::not_found(&l.ja, &l.en)
}

/// Looks up the id of a referenced record by code; a missing one is a field error.
async fn resolve(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    kind: MasterKind,
    field: &str,
    code: &str,
) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE municipality_id = $1 AND code = $2",
        table(kind)
    ))
    .bind(m.0)
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    id.ok_or_else(|| {
        let l = kind.label();
        Error::Validation(vec![FieldError::new(
            field,
            format!("{}コード「{code}」は登録されていません。先に{}を登録するか、コードを直してください", l.ja, l.ja),
            format!("no {} with code \"{code}\"; register it first or correct the code", l.en.to_lowercase()),
        )])
    })
}

async fn person_org(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    v: &ValidPerson,
) -> Result<Option<i64>> {
    match &v.organisation_code {
        Some(code) => Ok(Some(
            resolve(
                conn,
                m,
                MasterKind::Organisations,
                "organisation_code",
                code,
            )
            .await?,
        )),
        None => Ok(None),
    }
}

/// A person's hours as stored: '' for the municipality's.
fn hours_text(v: &ValidPerson) -> String {
    v.working_hours.map(|h| h.to_string()).unwrap_or_default()
}

fn days_text(v: &ValidPerson) -> String {
    v.part_time_days
        .iter()
        .map(|d| weekday_slug(*d))
        .collect::<Vec<_>>()
        .join(";")
}

pub(crate) async fn insert_record(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    record: &ValidRecord,
) -> Result<i64> {
    let t = now();
    let id = match record {
        ValidRecord::Organisation(v) => insert_organisation(conn, m, v, &t).await?,
        ValidRecord::Person(v) => {
            let org = person_org(conn, m, v).await?;
            sqlx::query_scalar(
                "INSERT INTO people (municipality_id, code, name, kana, email, organisation_id, roles, qualifications, part_time_days,
                     working_hours, max_meetings_per_day, max_minutes_per_day, created_at, updated_at, external, availability)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15) RETURNING id",
            )
            .bind(m.0).bind(&v.code).bind(&v.name).bind(&v.kana).bind(&v.email).bind(org)
            .bind(list_text(&v.roles)).bind(list_text(&v.qualifications)).bind(days_text(v))
            .bind(hours_text(v)).bind(v.max_meetings_per_day.map(i64::from)).bind(v.max_minutes_per_day.map(i64::from))
            .bind(&t).bind(i64::from(v.external)).bind(availability_text(&v.availability))
            .fetch_one(&mut *conn)
            .await?
        }
        ValidRecord::Venue(v) => insert_venue(conn, m, v, &t).await?,
        ValidRecord::Room(v) => {
            let venue = resolve(conn, m, MasterKind::Venues, "venue_code", &v.venue_code).await?;
            insert_room(conn, m, venue, v, &t).await?
        }
    };
    Ok(id)
}

async fn insert_organisation(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    v: &ValidOrganisation,
    t: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO organisations (municipality_id, code, name, kana, kind, ward, address, phone, email, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(m.0).bind(&v.code).bind(&v.name).bind(&v.kana).bind(v.kind.slug()).bind(&v.ward)
    .bind(&v.address).bind(&v.phone).bind(&v.email).bind(t)
    .fetch_one(&mut *conn)
    .await?)
}

async fn insert_venue(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    v: &ValidVenue,
    t: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO venues (municipality_id, code, name, ward, address, opening_hours, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(m.0).bind(&v.code).bind(&v.name).bind(&v.ward).bind(&v.address).bind(v.opening_hours.to_string()).bind(t)
    .fetch_one(&mut *conn)
    .await?)
}

async fn insert_room(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    venue: i64,
    v: &ValidRoom,
    t: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rooms (municipality_id, venue_id, code, name, capacity, wheelchair, hearing_loop, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(m.0).bind(venue).bind(&v.code).bind(&v.name).bind(v.capacity)
    .bind(i64::from(v.wheelchair)).bind(i64::from(v.hearing_loop)).bind(t)
    .fetch_one(&mut *conn)
    .await?)
}

pub(crate) async fn update_record(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    id: i64,
    record: &ValidRecord,
) -> Result<()> {
    let t = now();
    let done = match record {
        ValidRecord::Organisation(v) => sqlx::query(
            "UPDATE organisations SET code = $3, name = $4, kana = $5, kind = $6, ward = $7, address = $8, phone = $9, email = $10, updated_at = $11
             WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0).bind(id).bind(&v.code).bind(&v.name).bind(&v.kana).bind(v.kind.slug()).bind(&v.ward)
        .bind(&v.address).bind(&v.phone).bind(&v.email).bind(&t)
        .execute(&mut *conn)
        .await?,
        ValidRecord::Person(v) => {
            let org = person_org(conn, m, v).await?;
            sqlx::query(
                "UPDATE people SET code = $3, name = $4, kana = $5, email = $6, organisation_id = $7, roles = $8, qualifications = $9,
                     part_time_days = $10, working_hours = $11, max_meetings_per_day = $12, max_minutes_per_day = $13,
                     updated_at = $14, external = $15, availability = $16
                 WHERE municipality_id = $1 AND id = $2",
            )
            .bind(m.0).bind(id).bind(&v.code).bind(&v.name).bind(&v.kana).bind(&v.email).bind(org)
            .bind(list_text(&v.roles)).bind(list_text(&v.qualifications)).bind(days_text(v))
            .bind(hours_text(v)).bind(v.max_meetings_per_day.map(i64::from)).bind(v.max_minutes_per_day.map(i64::from))
            .bind(&t).bind(i64::from(v.external)).bind(availability_text(&v.availability))
            .execute(&mut *conn)
            .await?
        }
        ValidRecord::Venue(v) => sqlx::query(
            "UPDATE venues SET code = $3, name = $4, ward = $5, address = $6, opening_hours = $7, updated_at = $8
             WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0).bind(id).bind(&v.code).bind(&v.name).bind(&v.ward).bind(&v.address).bind(v.opening_hours.to_string()).bind(&t)
        .execute(&mut *conn)
        .await?,
        ValidRecord::Room(v) => {
            let venue = resolve(conn, m, MasterKind::Venues, "venue_code", &v.venue_code).await?;
            sqlx::query(
                "UPDATE rooms SET code = $3, venue_id = $4, name = $5, capacity = $6, wheelchair = $7, hearing_loop = $8, updated_at = $9
                 WHERE municipality_id = $1 AND id = $2",
            )
            .bind(m.0).bind(id).bind(&v.code).bind(venue).bind(&v.name).bind(v.capacity)
            .bind(i64::from(v.wheelchair)).bind(i64::from(v.hearing_loop)).bind(&t)
            .execute(&mut *conn)
            .await?
        }
    };
    if done.rows_affected() == 0 {
        return Err(not_found(kind_of(record)));
    }
    Ok(())
}

/// Id of the record with this code, if any (the importer updates existing codes).
pub(crate) async fn id_by_code(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    kind: MasterKind,
    code: &str,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE municipality_id = $1 AND code = $2",
        table(kind)
    ))
    .bind(m.0)
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?)
}
