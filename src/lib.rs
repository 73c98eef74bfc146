//! Helpline: a help desk in one binary. This crate is the whole product; the
//! `helpline` binary is a thin command line over [`App`].
#![doc = include_str!("../README.md")]

pub mod actor;
pub mod api;
pub mod app;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod http;
pub mod ids;
pub mod mail;
pub mod maintenance;
pub mod markdown;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod paging;
pub mod portal;
pub mod queue;
pub mod ratings;
pub mod replies;
pub mod reports;
pub mod settings;
pub mod sla;
pub mod state;
pub mod suggest;
pub mod tickets;
pub mod users;
pub mod web;
pub mod webhooks;

pub use app::{App, AppBuilder, ServerHandle};
pub use config::Config;
pub use error::Error;
pub use state::AppState;
