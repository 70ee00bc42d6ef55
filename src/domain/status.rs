//! The computed status of a page: roll-up over the component tree, and daily uptime.
//! Pure functions; the services feed them rows.

use std::collections::HashMap;

/// What an item shows, from least to most severe: the healthy baseline, maintenance in progress,
/// or an incident status of a given severity (> 0; severity 0 is the baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Baseline,
    Maintenance,
    Incident(i64),
}

/// One component as the roll-up sees it.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub id: i64,
    pub parent: Option<i64>,
}

/// What affects an item directly: the most severe active incident status on it, and whether a
/// maintenance on it is in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Direct {
    pub incident_severity: i64,
    pub maintenance: bool,
}

/// The level of every item: its own direct effects and those of all its descendants.
/// Incidents (severity > 0) beat maintenance, which beats the baseline.
pub fn roll_up(nodes: &[Node], direct: &HashMap<i64, Direct>) -> HashMap<i64, Level> {
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for n in nodes {
        if let Some(p) = n.parent {
            children.entry(p).or_default().push(n.id);
        }
    }
    let mut subtree: HashMap<i64, Direct> = HashMap::new();
    // Iterative post-order from each root, so deep trees cannot overflow the stack.
    let ids: std::collections::HashSet<i64> = nodes.iter().map(|n| n.id).collect();
    let roots = nodes.iter().filter(|n| n.parent.is_none_or(|p| !ids.contains(&p)));
    for root in roots {
        let mut stack = vec![(root.id, false)];
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                let mut agg = direct.get(&id).copied().unwrap_or_default();
                for c in children.get(&id).into_iter().flatten() {
                    let d = subtree.get(c).copied().unwrap_or_default();
                    agg.incident_severity = agg.incident_severity.max(d.incident_severity);
                    agg.maintenance |= d.maintenance;
                }
                subtree.insert(id, agg);
            } else if !subtree.contains_key(&id) {
                stack.push((id, true));
                for c in children.get(&id).into_iter().flatten() {
                    stack.push((*c, false));
                }
            }
        }
    }
    subtree.into_iter().map(|(id, d)| (id, level_of(d))).collect()
}

/// The level shown for a set of direct effects.
pub fn level_of(d: Direct) -> Level {
    if d.incident_severity > 0 {
        Level::Incident(d.incident_severity)
    } else if d.maintenance {
        Level::Maintenance
    } else {
        Level::Baseline
    }
}

/// A stretch of time an item spent at a status, with that status's downtime weight in per mille
/// (1000 = fully down). `until` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impact {
    pub from: i64,
    pub until: Option<i64>,
    pub weight_permille: i64,
}

/// Uptime percentage of the window `[start, end)`: 100 × (1 − Σ weight × duration / window),
/// where at every instant only the heaviest overlapping impact counts (two incidents at once are
/// not twice as down). Always within [0, 100]; 100 for an empty window.
pub fn uptime(impacts: &[Impact], start: i64, end: i64) -> f64 {
    // Most components have no impact on most days: answer those without allocating.
    if end <= start
        || !impacts.iter().any(|i| i.from < end && i.until.is_none_or(|u| u > start) && i.weight_permille > 0)
    {
        return 100.0;
    }
    let clipped: Vec<(i64, i64, i64)> = impacts
        .iter()
        .map(|i| (i.from.max(start), i.until.unwrap_or(end).min(end), i.weight_permille.clamp(0, 1000)))
        .filter(|(f, u, w)| f < u && *w > 0)
        .collect();
    let mut edges: Vec<i64> = clipped.iter().flat_map(|(f, u, _)| [*f, *u]).collect();
    edges.sort_unstable();
    edges.dedup();
    let mut down: i128 = 0;
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let w = clipped.iter().filter(|(f, u, _)| *f <= a && b <= *u).map(|(_, _, w)| *w).max().unwrap_or(0);
        down += i128::from(w) * i128::from(b - a);
    }
    let total = i128::from(end - start) * 1000;
    let pct = 100.0 * (1.0 - down as f64 / total as f64);
    pct.clamp(0.0, 100.0)
}

/// The heaviest weight (per mille) of the impacts overlapping `[start, end)`, 0 when nothing
/// happened. Given impacts weighted by their mark (0 baseline, 1000 fully down, between for
/// any other status), it is what colours a day on an uptime bar.
pub fn worst(impacts: &[Impact], start: i64, end: i64) -> i64 {
    impacts
        .iter()
        .filter(|i| i.from < end && i.until.is_none_or(|u| u > start))
        .map(|i| i.weight_permille.clamp(0, 1000))
        .max()
        .unwrap_or(0)
}

/// How one day reads on a component's uptime bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayMark {
    /// The component did not exist yet: not a day of 100 %.
    NoData,
    Operational,
    /// Above the baseline at worst, but never fully down (e.g. degraded performance).
    Degraded,
    /// Fully down at some moment of the day.
    Outage,
}

impl DayMark {
    /// The mark of the day `[start, end)` whose worst weight is `worst`, for a component that
    /// exists from `since`.
    pub fn of(worst: i64, end: i64, since: i64) -> DayMark {
        match worst {
            _ if end <= since => DayMark::NoData,
            0 => DayMark::Operational,
            w if w >= 1000 => DayMark::Outage,
            _ => DayMark::Degraded,
        }
    }
}

/// An uptime percentage as readers see it: two decimals, never rounded up to a perfect record
/// (99.999 reads 99.99 %, only 100 reads 100 %).
pub fn percent_label(pct: f64) -> String {
    if pct >= 100.0 {
        return "100%".to_string();
    }
    // The epsilon keeps a value that is exactly two decimals (0.29, whose double is a hair
    // below) from losing a step to the floor.
    let floored = ((pct.max(0.0) * 100.0) + 1e-9).floor() / 100.0;
    format!("{floored:.2}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_day_is_coloured_by_its_worst_impact_and_no_data_before_the_component_existed() {
        let day = (1_000, 2_000);
        let impacts = [
            Impact { from: 500, until: Some(1_100), weight_permille: 300 },
            Impact { from: 1_500, until: Some(1_600), weight_permille: 1000 },
            Impact { from: 2_500, until: None, weight_permille: 700 },
        ];
        assert_eq!(worst(&impacts, day.0, day.1), 1000, "the outage at 1500 is the worst of the day");
        assert_eq!(worst(&impacts[..1], day.0, day.1), 300);
        assert_eq!(worst(&impacts[2..], day.0, day.1), 0, "an impact after the day does not count");
        assert_eq!(DayMark::of(0, day.1, 0), DayMark::Operational);
        assert_eq!(DayMark::of(300, day.1, 0), DayMark::Degraded);
        assert_eq!(DayMark::of(1000, day.1, 0), DayMark::Outage);
        assert_eq!(DayMark::of(0, day.1, 2_000), DayMark::NoData, "created at the day's end: no data");
        assert_eq!(DayMark::of(0, day.1, 1_999), DayMark::Operational, "created during the day: data");
    }

    #[test]
    fn percentages_never_round_up_to_a_perfect_record() {
        assert_eq!(percent_label(100.0), "100%");
        assert_eq!(percent_label(99.999), "99.99%");
        assert_eq!(percent_label(99.995), "99.99%");
        assert_eq!(percent_label(99.5), "99.50%");
        assert_eq!(percent_label(0.29), "0.29%");
        assert_eq!(percent_label(0.0), "0.00%");
        assert_eq!(percent_label(-1.0), "0.00%");
    }

    fn tree() -> Vec<Node> {
        // api (1) ─ gateway (2), auth (3); web (4)
        vec![
            Node { id: 1, parent: None },
            Node { id: 2, parent: Some(1) },
            Node { id: 3, parent: Some(1) },
            Node { id: 4, parent: None },
        ]
    }

    #[test]
    fn a_child_outage_rolls_up_to_its_parent_only() {
        let direct = HashMap::from([(2, Direct { incident_severity: 2, maintenance: false })]);
        let l = roll_up(&tree(), &direct);
        assert_eq!(l[&2], Level::Incident(2));
        assert_eq!(l[&1], Level::Incident(2));
        assert_eq!(l[&3], Level::Baseline);
        assert_eq!(l[&4], Level::Baseline);
    }

    #[test]
    fn incidents_beat_maintenance_which_beats_the_baseline() {
        let direct = HashMap::from([
            (2, Direct { incident_severity: 1, maintenance: false }),
            (3, Direct { incident_severity: 0, maintenance: true }),
        ]);
        let l = roll_up(&tree(), &direct);
        assert_eq!(l[&3], Level::Maintenance);
        assert_eq!(l[&1], Level::Incident(1));
        assert!(Level::Incident(1) > Level::Maintenance && Level::Maintenance > Level::Baseline);
    }

    #[test]
    fn uptime_weighs_overlaps_by_the_heaviest_impact() {
        let day = 86_400_000;
        let half = Impact { from: 0, until: Some(day / 2), weight_permille: 1000 };
        assert_eq!(uptime(&[half], 0, day), 50.0);
        let partial = Impact { from: 0, until: Some(day / 2), weight_permille: 300 };
        assert!((uptime(&[half, partial], 0, day) - 50.0).abs() < 1e-9);
        assert!((uptime(&[partial], 0, day) - 85.0).abs() < 1e-9);
        let open = Impact { from: day / 4, until: None, weight_permille: 1000 };
        assert_eq!(uptime(&[open], 0, day), 25.0);
        assert_eq!(uptime(&[], 0, day), 100.0);
    }

    fn arb_impacts() -> impl Strategy<Value = Vec<Impact>> {
        prop::collection::vec(
            (0i64..200, 0i64..200, prop::option::of(0i64..1), 0i64..=1000).prop_map(|(a, len, open, w)| Impact {
                from: a,
                until: open.map_or(Some(a + len), |_| None),
                weight_permille: w,
            }),
            0..8,
        )
    }

    fn arb_tree() -> impl Strategy<Value = (Vec<Node>, HashMap<i64, Direct>)> {
        (1usize..30).prop_flat_map(|n| {
            let parents = prop::collection::vec(prop::option::weighted(0.7, 0usize..n), n);
            let direct = prop::collection::vec((0i64..4, any::<bool>()), n);
            (parents, direct).prop_map(move |(parents, direct)| {
                // Parents always have smaller ids, so the generated graph is a forest.
                let nodes = (0..n)
                    .map(|i| Node { id: i as i64, parent: parents[i].filter(|p| *p < i).map(|p| p as i64) })
                    .collect();
                let direct = direct
                    .into_iter()
                    .enumerate()
                    .map(|(i, (s, m))| (i as i64, Direct { incident_severity: s, maintenance: m }))
                    .collect();
                (nodes, direct)
            })
        })
    }

    proptest! {
        #[test]
        fn uptime_stays_within_bounds(impacts in arb_impacts()) {
            let u = uptime(&impacts, 0, 200);
            prop_assert!((0.0..=100.0).contains(&u));
        }

        #[test]
        fn uptime_is_100_without_impacts_or_weight(n in 0usize..5) {
            let none: Vec<Impact> = (0..n).map(|i| Impact { from: i as i64, until: Some(50), weight_permille: 0 }).collect();
            prop_assert_eq!(uptime(&none, 0, 100), 100.0);
        }

        #[test]
        fn longer_outages_never_raise_uptime(from in 0i64..100, len in 0i64..100, more in 0i64..100, w in 0i64..=1000, others in arb_impacts()) {
            let mut short = others.clone();
            short.push(Impact { from, until: Some(from + len), weight_permille: w });
            let mut long = others;
            long.push(Impact { from, until: Some(from + len + more), weight_permille: w });
            prop_assert!(uptime(&long, 0, 200) <= uptime(&short, 0, 200) + 1e-9);
        }

        #[test]
        fn a_parent_is_never_healthier_than_any_child((nodes, direct) in arb_tree()) {
            let levels = roll_up(&nodes, &direct);
            prop_assert_eq!(levels.len(), nodes.len());
            for n in &nodes {
                if let Some(p) = n.parent {
                    prop_assert!(levels[&p] >= levels[&n.id]);
                }
                prop_assert!(levels[&n.id] >= level_of(direct[&n.id]));
            }
        }
    }
}
