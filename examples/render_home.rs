//! Rendering cost of the status page's HTML, without the database: a page with 50 components
//! (10 services of 4 components each, and 10 on their own), 3 active incidents, 2 windows and
//! 90-day bars. Prints the median and p99 of `RENDERS` renders and writes the HTML to the path
//! given as the first argument (`scripts/bench-render` compresses it).

use askama::Template;
use statibeat::http::site::home::*;
use statibeat::http::site::layout::{Chrome, Shown};
use std::time::Instant;

fn shown(s: &str) -> Shown {
    Shown { iso: format!("{s}:00Z"), shown: format!("{s} UTC").replace('T', " ") }
}

fn bar(seed: usize) -> UptimeBar {
    let days = (0..90)
        .map(|d| {
            let (class, what) = match (d * 7 + seed) % 41 {
                0 => ("d-major", "97.91% uptime, outage"),
                1 | 2 => ("d-minor", "100% uptime, degraded"),
                _ => ("d-ok", "100% uptime"),
            };
            BarDay { class, tip: format!("2026-{:02}-{:02}: {what}", 9 + d / 30, 1 + d % 28) }
        })
        .collect();
    UptimeBar { percent: "99.93%".into(), days }
}

fn line(name: String, seed: usize) -> ComponentLine {
    ComponentLine { name, status: "Operational".into(), icon: "i-ok", bar: Some(bar(seed)) }
}

fn page() -> HomePage {
    let mut components = Vec::new();
    for s in 0..10 {
        components.push(Tree::Item(line(format!("Service {s}"), s)));
        components.push(Tree::Down);
        for c in 0..4 {
            components.push(Tree::Item(line(format!("Component {s}.{c}"), s * 4 + c)));
            components.push(Tree::End);
        }
        components.push(Tree::Up);
        components.push(Tree::End);
        components.push(Tree::Item(line(format!("Standalone {s}"), 100 + s)));
        components.push(Tree::End);
    }
    let incidents = (0..3)
        .map(|i| IncidentCard {
            id: i,
            title: format!("Elevated error rates on API {i}"),
            status: "Partial outage".into(),
            icon: "i-minor",
            impact: "minor".into(),
            affected: "Component 1.1, Component 1.2".into(),
            latest: Some(UpdateLine {
                stage: "identified".into(),
                message: "We found the cause and are rolling out a fix to every region.".into(),
            }),
            started: shown("2026-12-07T09:12"),
            updated: shown("2026-12-07T10:40"),
        })
        .collect();
    let windows = (0..2)
        .map(|i| WindowCard {
            id: i,
            title: format!("Database upgrade {i}"),
            in_progress: i == 0,
            affected: "Service 3".into(),
            starts: shown("2026-12-08T01:00"),
            ends: shown("2026-12-08T03:00"),
        })
        .collect();
    HomePage {
        page: Chrome {
            locale: "en".into(),
            title: "Acme status".into(),
            subtitle: "Payments and APIs".into(),
            description: "Current status, incidents and scheduled maintenance of Acme.".into(),
            base: String::new(),
            stylesheet: "/assets/site.0123456789abcdef.css".into(),
            time_zone: "UTC".into(),
            feeds: true,
            noindex: false,
        },
        sections: vec![Section::Banner, Section::Incidents, Section::Maintenances, Section::Components],
        banner: Banner { text: "Partial outage".into(), icon: "i-minor" },
        updated: shown("2026-12-07T10:41"),
        incidents,
        windows,
        components,
    }
}

const RENDERS: usize = 2_000;

fn main() {
    let p = page();
    let mut html = String::new();
    for _ in 0..100 {
        html = p.render().expect("render");
    }
    let mut times: Vec<f64> = (0..RENDERS)
        .map(|_| {
            let t = Instant::now();
            html = p.render().expect("render");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "home page, 50 components, 3 incidents, 2 windows, 90-day bars: render median {:.0} µs, p99 {:.0} µs over {RENDERS} renders; {} bytes",
        times[RENDERS / 2],
        times[RENDERS * 99 / 100],
        html.len()
    );
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(path, &html).expect("write the html");
    }
}
