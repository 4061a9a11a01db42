//! The demo municipality loaded by `renkei serve --demo` on an empty database.

pub mod caseload;
pub mod data;
pub mod held;
pub mod placement;

use crate::auth::{hash_password, Role};
use crate::error::{Error, Result};
use crate::master::{FieldError, ValidRecord};
use crate::store::master::insert_record;
use crate::store::tenancy::{create_municipality, create_user};
use crate::store::Db;

/// Login of the demo's administrator, printed at start. Only ever created by `--demo`.
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "renkei-demo-2026";

pub struct DemoLoaded {
    pub created: bool,
    pub municipality_name: String,
}

/// Loads the demo municipality unless the database already holds it. All or nothing.
pub async fn load(db: &Db) -> Result<DemoLoaded> {
    let data = data::demo_dataset();
    if let Some(existing) = db.municipality_by_code(data.municipality_code).await? {
        held::load(db, existing.id).await?;
        placement::load(db, existing.id).await?;
        caseload::load(db, existing.id).await?;
        return Ok(DemoLoaded {
            created: false,
            municipality_name: data.municipality_name.into(),
        });
    }
    let records = data
        .organisations
        .iter()
        .map(|o| o.parse().map(ValidRecord::Organisation))
        .chain(
            data.people
                .iter()
                .map(|p| p.parse().map(ValidRecord::Person)),
        )
        .chain(
            data.venues
                .iter()
                .map(|v| v.parse().map(ValidRecord::Venue)),
        )
        .chain(data.rooms.iter().map(|r| r.parse().map(ValidRecord::Room)))
        .collect::<std::result::Result<Vec<_>, Vec<FieldError>>>()
        .map_err(|e| Error::Internal(anyhow::anyhow!("demo data does not validate: {e:?}")))?;
    // Hash before the transaction: argon2 is slow and must not hold the write lock.
    let hash = hash_password(DEMO_PASSWORD)?;
    let viewer_hash = hash_password(DEMO_PASSWORD)?;
    // One transaction: a failure anywhere leaves no half-loaded demo behind.
    let mut tx = db.begin_write().await?;
    let m = create_municipality(
        &mut tx,
        data.municipality_code,
        data.municipality_name,
        data.municipality_name_en,
    )
    .await?;
    for record in &records {
        insert_record(&mut tx, m, record).await?;
    }
    for (date, reason) in &data.closures {
        sqlx::query("INSERT INTO closures (municipality_id, date, reason) VALUES ($1, $2, $3)")
            .bind(m.0)
            .bind(*date)
            .bind(*reason)
            .execute(&mut *tx)
            .await?;
    }
    // The council and ward structure the demo is shaped after (Kumamoto), and the
    // indicator-driven case verification of Hiratsuka.
    let series = crate::meetings::presets::demo_series()
        .iter()
        .map(|s| s.parse())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(anyhow::anyhow!("demo series do not validate: {e:?}")))?;
    crate::store::meetings::insert_series(&mut tx, m, &series).await?;
    // A meeting the center attends but another body holds (Meguro's 地域移行・地域定着連携連絡会).
    crate::store::meetings::insert_series(&mut tx, m, &[held::series()?]).await?;
    // Hiratsuka's indicator table (and Kumamoto's ward meetings) for this fiscal year and the
    // next, which the demo's plans are made for.
    let this_year = renkei_solver::calendar::FiscalYear::of(renkei_solver::calendar::jst_date(
        chrono::Utc::now(),
    ));
    let indicators = crate::indicators::presets::demo_indicators();
    for fy in [
        this_year,
        renkei_solver::calendar::FiscalYear::of(this_year.end().succ_opt().expect("next day")),
    ] {
        crate::store::indicators::replace_indicators(&mut tx, m, fy, &indicators).await?;
    }
    create_user(&mut tx, m, DEMO_USERNAME, "デモ 管理者", &hash, Role::Admin).await?;
    create_user(
        &mut tx,
        m,
        "demo-viewer",
        "デモ 閲覧者",
        &viewer_hash,
        Role::Viewer,
    )
    .await?;
    crate::store::audit::record(
        &mut tx,
        Some(m),
        None,
        "create",
        "demo",
        "",
        "demo municipality loaded",
    )
    .await?;
    tx.commit().await?;
    held::load(db, m).await?;
    placement::load(db, m).await?;
    caseload::load(db, m).await?;
    Ok(DemoLoaded {
        created: true,
        municipality_name: data.municipality_name.into(),
    })
}
