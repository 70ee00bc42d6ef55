//! The org and its pages: creating and trashing pages, members and roles, invitations, custom
//! domains, and the first start's bootstrap.

pub mod bootstrap;
pub mod domains;
pub mod invitations;
pub mod member_scope;
pub mod members;
pub mod pages;
