//! Emergency placement (緊急受入れ): vacancy search, the placement optimizer and its validator.
//!
//! - [`model`]: the instance (facilities, rooms, beds, taken bed-nights, requests) and solution.

pub mod model;
