//! The case-load instance: offices with their caps and current cases, the referrals to assign,
//! the weights of the soft goals; and the solution.

use serde::{Deserialize, Serialize};

pub use crate::schedule::model::Text;

/// Database ids of the service (organisations), as in the other models.
pub type OfficeId = u32;
pub type ReferralId = u32;

/// A designated specific consultation office (指定特定相談支援事業所).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Office {
    pub id: OfficeId,
    /// For messages (the office's name or code).
    pub name: String,
    /// The office's ward / area (区, 圏域); `""` when not known.
    #[serde(default)]
    pub ward: String,
    /// Planning-consultation cases the office may hold (50; 75 in Kumamoto's west area).
    pub cap: u32,
    /// Cases it holds now. May be above `cap` (it then takes nobody new).
    pub current: u32,
    /// What the office is good at (tags such as `child`, `mental`, `medical_care`).
    #[serde(default)]
    pub specialities: Vec<String>,
}

impl Office {
    /// New cases the office can still take.
    pub fn room(&self) -> u32 {
        self.cap.saturating_sub(self.current)
    }
}

/// A person who needs a planning-consultation office.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub id: ReferralId,
    /// For messages (a code or initials; never a real name).
    pub label: String,
    /// The ward the person lives in; `""` when not known (no office is then "outside").
    #[serde(default)]
    pub ward: String,
    /// Specialities the person needs (tags as in [`Office::specialities`]).
    #[serde(default)]
    pub needs: Vec<String>,
    /// The office that supported the person before (continuity of support).
    #[serde(default)]
    pub previous: Option<OfficeId>,
    /// A coordinator's choice: the referral goes to this office or to none.
    #[serde(default)]
    pub fixed: Option<OfficeId>,
}

/// Prices of the soft goals. Caps, fixed offices and "at most one office" are hard rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    /// A referral left unassigned.
    pub unassigned: f64,
    /// A fixed (manually chosen) referral left unassigned: dearer than any other choice.
    pub fixed_unassigned: f64,
    /// The office is outside the person's ward.
    pub outside_ward: f64,
    /// The person had a previous office and goes elsewhere.
    pub no_continuity: f64,
    /// Per needed speciality the office does not have.
    pub missing_speciality: f64,
    /// Load balance: the k-th new case of an office costs `load · (current + k) / cap`, so
    /// offices near their cap take fewer (convex: each further case costs more).
    pub load: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            unassigned: 1000.0,
            fixed_unassigned: 10_000.0,
            outside_ward: 10.0,
            no_continuity: 6.0,
            missing_speciality: 8.0,
            load: 4.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub offices: Vec<Office>,
    pub referrals: Vec<Referral>,
    #[serde(default)]
    pub weights: Weights,
    /// The optimizer's time limit; the greedy assignment is kept when it runs out.
    #[serde(default = "default_time_limit")]
    pub time_limit_seconds: f64,
}

fn default_time_limit() -> f64 {
    10.0
}

impl Instance {
    pub fn new(offices: Vec<Office>, referrals: Vec<Referral>) -> Instance {
        Instance {
            offices,
            referrals,
            weights: Weights::default(),
            time_limit_seconds: default_time_limit(),
        }
    }

    pub fn office(&self, id: OfficeId) -> Option<&Office> {
        self.offices.iter().find(|o| o.id == id)
    }
}

/// Where one referral goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub referral: ReferralId,
    /// `None`: unassigned.
    pub office: Option<OfficeId>,
    /// Why not, when unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

/// Which method produced the assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The MILP, proven optimal.
    Optimizer,
    /// The MILP stopped at its time limit; its best assignment (cheaper than the greedy one).
    OptimizerTimeLimit,
    /// The greedy assignment (the optimizer failed or found nothing cheaper).
    Greedy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// One per referral, in the instance's order.
    pub assignments: Vec<Assignment>,
    pub method: Method,
    /// [`super::score::cost`] of the assignments.
    pub objective: f64,
    /// The greedy assignment's cost, for comparison.
    pub greedy_objective: f64,
    /// When the optimizer was not used, why (solver error), in both languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
    pub seconds: f64,
}
