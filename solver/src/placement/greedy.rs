//! The greedy baseline: what hub staff do by hand. Requests by urgency (most urgent first,
//! then in input order), each takes the first whole-stay bed the vacancy search offers, else
//! its split stay, and the state is updated before the next one. Kept for comparison with
//! the optimizer: it does not look ahead, so an early request may take the only bed that a
//! later one could use.

use super::model::*;
use super::rules::Index;
use super::search::search_in;

pub fn place(instance: &Instance) -> Vec<Placement> {
    let mut index = Index::new(instance);
    let mut order: Vec<usize> = (0..instance.requests.len()).collect();
    order.sort_by_key(|&r| std::cmp::Reverse(instance.requests[r].urgency));
    let mut out: Vec<Option<Placement>> = vec![None; instance.requests.len()];
    for r in order {
        let request = &instance.requests[r];
        let found = search_in(&index, request);
        let segments = if let Some(best) = found.whole.first() {
            vec![Segment {
                bed: best.bed,
                nights: request.nights,
            }]
        } else if let Some(split) = found.split {
            split.segments
        } else {
            Vec::new()
        };
        for s in &segments {
            for night in s.nights.iter() {
                index.take(s.bed, night, Some(request.needs.sex));
            }
        }
        out[r] = Some(Placement {
            request: request.id,
            unplaced_reason: segments.is_empty().then(|| {
                Text::new(
                    "空床検索で全泊をまかなえる空きが見つからない",
                    "the vacancy search found no free bed for all nights",
                )
            }),
            segments,
        });
    }
    out.into_iter().map(|p| p.expect("every request")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::search::tests::{d, request, town};
    use crate::placement::validate::validate;

    #[test]
    fn greedy_places_the_urgent_first_and_never_double_books() {
        let mut inst = town();
        let mut rs: Vec<Request> = (1..=8)
            .map(|i| request(i, Sex::Male, d(5, 1), d(5, 3)))
            .collect();
        rs[7].urgency = 5;
        inst.requests = rs;
        let plan = place(&inst);
        assert!(validate(&inst, &plan).is_valid());
        // Four beds take men (200, 201, 300, 400) plus the hub: five placed, 8 is among them.
        assert_eq!(plan.iter().filter(|p| !p.segments.is_empty()).count(), 5);
        assert!(!plan[7].segments.is_empty());
        assert!(plan
            .iter()
            .all(|p| p.segments.is_empty() == p.unplaced_reason.is_some()));
    }
}
