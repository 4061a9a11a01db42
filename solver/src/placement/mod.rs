//! Emergency placement (緊急受入れ): vacancy search, the placement optimizer and its validator.
//!
//! - [`model`]: the instance (facilities, rooms, beds, taken bed-nights, requests) and solution.
//! - [`rules`]: what the hard rules mean (fit, free bed-nights, shared rooms) and the
//!   [`rules::Index`] every other module looks things up in.
//! - [`search`]: vacancy search for one request (whole-stay beds, a split stay, why not).
//! - [`milp`]: the optimizer placing a batch of requests at once (good_lp + HiGHS).
//! - [`validate`]: the independent validator; no placement is proposed without passing it.
//! - [`score`]: the soft goals evaluated from any placements (what the optimizer minimises).
//! - [`greedy`]: the by-hand baseline; [`generate`]: deterministic benchmark instances.

pub mod generate;
pub mod greedy;
pub mod milp;
pub mod model;
pub mod rules;
pub mod score;
pub mod search;
pub mod validate;

#[cfg(test)]
mod bench;
