//! Tickets and their conversations: the help desk core.

pub mod assign;
pub mod attention;
pub mod bulk;
pub mod conversation;
pub mod count;
pub mod found;
pub mod index;
pub mod list;
pub mod merge;
pub mod model;
pub mod opening;
pub mod repo;
pub mod rules;
pub mod search;
pub mod service;
pub mod stats;

pub use model::{Channel, Message, Priority, Ticket, TicketStatus, TicketWithMessages};
