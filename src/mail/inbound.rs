//! Inbound mail.
