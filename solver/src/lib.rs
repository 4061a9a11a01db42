//! Pure engine of renkei: Japanese calendar, and later the schedule and placement models. No IO: no sqlx, axum, tokio or lettre here.

pub mod calendar;
