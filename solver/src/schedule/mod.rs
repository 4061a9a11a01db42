//! The meeting-calendar planner (会議日程の最適化): the instance format, the shared rule
//! definitions, the MILP planner, the greedy baseline and the independent validator.

pub mod explain;
pub mod generate;
pub mod greedy;
pub mod milp;
pub mod model;
pub mod repair;
pub mod rules;
pub mod score;
pub mod targets;
pub mod validate;
