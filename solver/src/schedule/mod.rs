//! The meeting-calendar planner (会議日程の最適化): the instance format, the shared rule
//! definitions, the MILP planner, the greedy baseline and the independent validator.

pub mod model;
pub mod rules;
