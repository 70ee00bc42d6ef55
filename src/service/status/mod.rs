//! What a page says: the status model (`hierarchy`: levels, components, statuses, stages), the
//! notices (`incidents`, `maintenances`, their shared core `notices`) and the status computed
//! from them (`computed`: roll-up, uptime).

pub mod computed;
pub mod hierarchy;
pub mod incidents;
pub mod maintenances;
pub mod notices;
