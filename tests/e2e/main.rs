//! End-to-end tests of the platform against the local stack: real moto, the real runner,
//! real HTTP and the real AWS SDK. One stack is shared by the binary (see the harness).

mod auth;
mod contract;
mod events;
mod exports;
mod health;
mod history;
mod http_api;
mod imports;
mod intake;
mod invoke;
mod labels;
mod monitoring;
mod notifications;
mod operations;
mod reports;
mod run_saga;
mod samples;
mod security;
mod sequencing;
mod storage;
mod store;
mod submissions;
mod template;
mod web;
