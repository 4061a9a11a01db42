//! Case-load management (計画相談の件数管理): assigning new planning-consultation referrals to
//! designated specific consultation offices (指定特定相談支援事業所) without any office going
//! over its cap. Kumamoto: 「計画相談の件数制限 ・西圏域以外 事業所あたり50件まで ・西圏域のみ
//! …75件まで」.
//!
//! - [`model`]: offices (ward, cap, current cases, specialities), referrals (ward, needs,
//!   previous office, a coordinator's fixed office), weights, the solution.
//! - [`score`]: the soft goals of an assignment (what the optimizer minimises) and the reasons
//!   a referral stays unassigned.
//! - [`milp`]: the optimizer (good_lp + HiGHS), with [`greedy`] as its deterministic fallback.
//! - [`validate`]: the independent validator; no assignment leaves [`milp::assign`] without
//!   passing it.

pub mod greedy;
pub mod milp;
pub mod model;
pub mod score;
pub mod validate;

pub use milp::{assign, AssignError};
pub use model::*;
