//! Pages and documents for people: the status page (`home`), the admin sign-in (`admin`), a
//! custom view's page, one-click unsubscribe, and the RSS, Atom and iCalendar feeds.

pub mod admin;
pub mod assets;
pub mod custom_view;
pub mod feeds;
pub mod home;
pub mod incident;
pub mod layout;
pub mod unsubscribe;
