//! The page's readers: subscribers and their notifications (`notify`, `outbox`), readers' own
//! feeds, custom views, and the co-managers of both.

pub mod co_managers;
pub mod notify;
pub mod outbox;
pub mod reader_feeds;
pub mod subscribers;
pub mod views;
