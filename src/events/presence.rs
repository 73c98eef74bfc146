//! Who is looking at a ticket right now (agents see it, to avoid answering
//! the same customer twice).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::Serialize;

use crate::actor::Role;
use crate::ids::{TicketId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Viewer {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

impl Viewer {
    pub fn of(user: &crate::actor::User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
        }
    }
}

/// Viewers per ticket, by connection.
#[derive(Default)]
pub struct Presence {
    tickets: Mutex<HashMap<TicketId, BTreeMap<u64, Viewer>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Presence {
    /// Registers a viewer; returns the connection key for [`Presence::leave`].
    pub fn join(&self, ticket: TicketId, viewer: Viewer) -> u64 {
        let key = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().entry(ticket).or_default().insert(key, viewer);
        key
    }

    pub fn leave(&self, ticket: TicketId, key: u64) {
        let mut tickets = self.lock();
        if let Some(viewers) = tickets.get_mut(&ticket) {
            viewers.remove(&key);
            if viewers.is_empty() {
                tickets.remove(&ticket);
            }
        }
    }

    /// Distinct people viewing `ticket`, in the order they came.
    pub fn viewers(&self, ticket: TicketId) -> Vec<Viewer> {
        let tickets = self.lock();
        let mut seen = Vec::new();
        for viewer in tickets.get(&ticket).into_iter().flat_map(BTreeMap::values) {
            if !seen.iter().any(|v: &Viewer| v.id == viewer.id) {
                seen.push(viewer.clone());
            }
        }
        seen
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TicketId, BTreeMap<u64, Viewer>>> {
        self.tickets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
