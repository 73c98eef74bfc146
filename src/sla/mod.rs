//! Service levels: business-time targets for the first response and the
//! resolution of each ticket, by priority.

pub mod calendar;
pub mod policy;

pub use policy::SlaPolicy;
pub mod clock;
pub mod notices;
