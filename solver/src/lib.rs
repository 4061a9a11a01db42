//! Pure engine of renkei: the Japanese calendar now, the meeting-calendar and placement models
//! later. No IO: no sqlx, axum, tokio or lettre here; plain input structs in, results out,
//! deterministic for the same input.

pub mod calendar;
pub mod caseload;
pub mod placement;
pub mod schedule;

#[cfg(test)]
mod tests {
    /// The MILP backend the models use (good_lp with HiGHS) builds, links and proves a small
    /// integer optimum: guards the cmake/libclang toolchain the later models depend on.
    #[test]
    fn highs_backend_solves_a_small_milp() {
        use good_lp::{constraint, highs, variable, variables, Solution, SolverModel};
        let mut vars = variables!();
        let x = vars.add(variable().integer().min(0).max(10));
        let y = vars.add(variable().integer().min(0).max(10));
        // maximise 3x + 2y subject to x + y <= 4.5 and x <= 2.5: optimum x = 2, y = 2 -> 10.
        let solution = vars
            .maximise(3 * x + 2 * y)
            .using(highs)
            .with(constraint!(x + y <= 4.5))
            .with(constraint!(x <= 2.5))
            .solve()
            .expect("HiGHS solves the model");
        assert_eq!(
            (solution.value(x).round(), solution.value(y).round()),
            (2.0, 2.0)
        );
    }
}
